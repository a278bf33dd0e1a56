// The signed-in resident, the family members the account acts for, and the person the pages show.
import { reactive } from 'vue'
import { api, ApiError, setCsrfToken, type Schemas } from '@/api/client'

type Account = Schemas['SessionOut']
type Person = Schemas['PortalPersonOut']

export const portal = reactive<{
  account: Account | null
  checked: boolean
  people: Person[]
  personId: number | null
}>({ account: null, checked: false, people: [], personId: null })

function remember(account: Account | null): void {
  portal.account = account
  portal.checked = true
  setCsrfToken(account?.csrf_token ?? '')
  if (!account) {
    portal.people = []
    portal.personId = null
  }
}

export async function loadSession(): Promise<Account | null> {
  if (portal.checked) return portal.account
  try {
    const account = await api.get<Account>('/api/auth/session')
    // A staff member's browser session is not a resident's: the phone pages ask them to sign in here.
    remember(account.role === '居民' ? account : null)
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error
    remember(null)
  }
  return portal.account
}

export async function loadFamily(): Promise<void> {
  const family = await api.get<Schemas['PortalFamilyOut']>('/api/portal/family')
  portal.people = family.people
  if (!portal.people.some((p) => p.id === portal.personId)) portal.personId = family.me.id
}

export function currentPerson(): Person | undefined {
  return portal.people.find((p) => p.id === portal.personId)
}

/** The `person` query parameter of every portal call: the shown person, or nothing for oneself. */
export function personQuery(): { person?: number } {
  const me = portal.people[0]
  return portal.personId && me && portal.personId !== me.id ? { person: portal.personId } : {}
}

export async function sendCode(phone: string): Promise<Schemas['CodeSent']> {
  return api.post<Schemas['CodeSent']>('/api/portal/login/code', { phone })
}

export async function signIn(phone: string, code: string, idNumber: string): Promise<void> {
  remember(await api.post<Account>('/api/portal/session', { phone, code, id_number: idNumber }))
  await loadFamily()
}

export async function signOut(): Promise<void> {
  await api.del<void>('/api/auth/session')
  remember(null)
}
