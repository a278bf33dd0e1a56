// One way to the JSON API for every screen: the session cookie, the CSRF header on writes, and the
// API's bilingual errors turned into an ApiError a form can show beside its fields.
import type { components } from './schema'

export type Schemas = components['schemas']

export interface FieldProblem {
  field: string
  message_zh: string
  message_en: string
  row?: number
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public messageZh: string,
    public messageEn: string,
    public fields: FieldProblem[] = [],
  ) {
    super(messageZh)
  }

  /** The message for one form field, if the API named it. */
  fieldMessage(name: string): string | undefined {
    return this.fields.find((f) => f.field === name || f.field.endsWith(`.${name}`))?.message_zh
  }
}

let csrfToken = ''
export function setCsrfToken(token: string): void {
  csrfToken = token
}

type Query = Record<string, string | number | boolean | null | undefined>

export function withQuery(url: string, query?: Query): string {
  if (!query) return url
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${url}?${text}` : url
}

export async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  options: { query?: Query; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(withQuery(url, options.query), {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  if (response.status === 204) return undefined as T
  const payload = await response.json().catch(() => null)
  if (!response.ok) {
    const error = payload?.error
    throw new ApiError(
      response.status,
      error?.message_zh ?? `请求失败（${response.status}）`,
      error?.message_en ?? `Request failed (${response.status})`,
      error?.fields ?? [],
    )
  }
  return payload as T
}

/** A file sent as multipart form data (imports); the API's row errors come back as an ApiError. */
/** The one multipart upload: files (as `field`, default `file`) with form fields, the query in the URL,
 *  the CSRF header; the API's errors (an import's bad rows among them) come back as an ApiError. */
export async function upload<T>(
  url: string,
  files: File | File[],
  options: { field?: string; fields?: Record<string, string>; query?: Query } = {},
): Promise<T> {
  const body = new FormData()
  for (const file of Array.isArray(files) ? files : [files]) body.append(options.field ?? 'file', file)
  for (const [key, value] of Object.entries(options.fields ?? {})) body.append(key, value)
  const response = await fetch(withQuery(url, options.query), {
    method: 'POST',
    headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken },
    credentials: 'same-origin',
    body,
  })
  const payload = await response.json().catch(() => null)
  if (!response.ok) {
    const error = payload?.error
    throw new ApiError(
      response.status,
      error?.message_zh ?? `上传失败（${response.status}）`,
      error?.message_en ?? `Upload failed (${response.status})`,
      error?.fields ?? [],
    )
  }
  return payload as T
}

export const api = {
  get: <T>(url: string, query?: Query) => request<T>('GET', url, { query }),
  post: <T>(url: string, body?: unknown) => request<T>('POST', url, { body }),
  put: <T>(url: string, body?: unknown) => request<T>('PUT', url, { body }),
  del: <T>(url: string) => request<T>('DELETE', url),
  upload,
}
