// Multipart uploads to the diagnostics API (DICOM files, the ECG carts' export): the JSON client sends
// JSON only, so the file forms post FormData with the session's CSRF token and read the same errors.
import { ApiError } from '@/api/client'
import { session } from '../../session'

export async function postFiles<T>(url: string, field: string, files: File[]): Promise<T> {
  const body = new FormData()
  for (const f of files) body.append(field, f)
  const response = await fetch(url, {
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
      error?.message_zh ?? `上传失败（${response.status}）`,
      error?.message_en ?? `Upload failed (${response.status})`,
      error?.fields ?? [],
    )
  }
  return payload as T
}
