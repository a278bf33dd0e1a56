// Shows the API's bilingual field errors beside the fields of a form, and a message for the rest.
import { reactive } from 'vue'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { ApiError } from '@/api/client'

export function useFormErrors() {
  const errors = reactive<Record<string, string>>({})

  function clear(): void {
    for (const key of Object.keys(errors)) delete errors[key]
  }

  /** Runs a write; on success shows `done` and returns the result, on an API error fills the fields. */
  async function submit<T>(work: () => Promise<T>, done: string): Promise<T | undefined> {
    clear()
    try {
      const result = await work()
      ElMessage.success(done)
      return result
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      for (const f of error.fields) errors[f.field.split('.').pop() ?? f.field] = f.message_zh
      if (error.fields.length === 0 || error.status !== 422) ElMessage.error(error.messageZh)
      return undefined
    }
  }

  return { errors, clear, submit }
}
