// An infinite list over a server-paged API ({items, total}): van-list asks for the next page as the
// resident scrolls; `finished` when every row the server has is shown (never a silent cap).
import { reactive, shallowRef } from 'vue'
import { ApiError } from '@/api/client'

export interface Page<T> {
  total: number
  items: T[]
}

export function usePagedFeed<T>(fetchPage: (offset: number, limit: number) => Promise<Page<T>>, size = 10) {
  const state = reactive({ loading: false, finished: false, failed: false, error: '', total: 0 })
  const rows = shallowRef<T[]>([])

  async function more(): Promise<void> {
    state.loading = true
    state.failed = false
    try {
      const page = await fetchPage(rows.value.length, size)
      rows.value = [...rows.value, ...page.items]
      state.total = page.total
      state.finished = rows.value.length >= page.total || page.items.length === 0
    } catch (error) {
      state.error = error instanceof ApiError ? `${error.messageZh}，点击重试` : '加载失败，点击重试'
      state.failed = true
    } finally {
      state.loading = false
    }
  }

  function reset(): void {
    rows.value = []
    Object.assign(state, { loading: false, finished: false, failed: false, error: '', total: 0 })
  }

  return { state, rows, more, reset }
}
