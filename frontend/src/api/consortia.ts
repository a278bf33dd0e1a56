// The consortia the account may read, for a screen's consortium picker. A county has a handful and a
// province a few dozen; the API pages its list (at most 500 a page), so a picker asks for one full page.
import { api, type Schemas } from './client'

export type ConsortiumRow = Schemas['ConsortiumRow']

export async function readableConsortia(): Promise<ConsortiumRow[]> {
  return (await api.get<Schemas['ConsortiumPage']>('/api/consortia', { limit: 500 })).items
}
