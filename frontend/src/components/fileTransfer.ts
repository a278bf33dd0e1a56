// Exports from the API: a download that says why it failed (instead of saving an error as an .xlsx).
// Uploads are api.upload (the one multipart call, in api/client.ts).
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { ApiError } from '@/api/client'

async function problem(response: Response): Promise<ApiError> {
  const payload = await response.json().catch(() => null)
  const error = payload?.error
  return new ApiError(
    response.status,
    error?.message_zh ?? `请求失败（${response.status}）`,
    error?.message_en ?? `Request failed (${response.status})`,
    error?.fields ?? [],
  )
}

/** Downloads `url` as `filename`; a refusal (e.g. a list over the export limit) is shown, not saved. */
export async function downloadFile(url: string, filename: string): Promise<boolean> {
  const response = await fetch(url, { credentials: 'same-origin' })
  if (!response.ok) {
    ElMessage.error((await problem(response)).messageZh)
    return false
  }
  const blob = await response.blob()
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = filename
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
  return true
}
