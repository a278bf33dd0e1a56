// Imports: a file with a few form fields as multipart, the query in the URL, the CSRF header of the
// session; the API's row errors come back as an ApiError like every other call.
import { ApiError, withQuery } from '@/api/client'
import { session } from '../../session'

export async function sendFile<T>(
  url: string,
  file: File,
  fields: Record<string, string> = {},
  query: Record<string, string | number | undefined> = {},
): Promise<T> {
  const body = new FormData()
  body.append('file', file)
  for (const [key, value] of Object.entries(fields)) body.append(key, value)
  const response = await fetch(withQuery(url, query), {
    method: 'POST',
    headers: { Accept: 'application/json', 'X-CSRF-Token': session.account?.csrf_token ?? '' },
    credentials: 'same-origin',
    body,
  })
  const payload = await response.json().catch(() => null)
  if (!response.ok) {
    const error = payload?.error
    throw new ApiError(
      response.status,
      error?.message_zh ?? `导入失败（${response.status}）`,
      error?.message_en ?? `Import failed (${response.status})`,
      error?.fields ?? [],
    )
  }
  return payload as T
}
