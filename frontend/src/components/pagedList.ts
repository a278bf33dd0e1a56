// Server-side paging for every list screen: the filters, the page and its size go to the API; the
// table shows one page and the total. Never a silent cap: the total comes from the server.
import { reactive, shallowRef } from 'vue'
import { ApiError } from '@/api/client'

export interface Page<T> {
  total: number
  items: T[]
}

export function usePagedList<T, F extends object>(
  filters: F,
  fetchPage: (filters: F, offset: number, limit: number) => Promise<Page<T>>,
  pageSize = 20,
) {
  const state = reactive({ page: 1, size: pageSize, total: 0, loading: false, error: '' })
  const rows = shallowRef<T[]>([])

  async function load(): Promise<void> {
    state.loading = true
    state.error = ''
    try {
      const page = await fetchPage(filters, (state.page - 1) * state.size, state.size)
      rows.value = page.items
      state.total = page.total
    } catch (error) {
      state.error = error instanceof ApiError ? error.messageZh : '加载失败，请稍后重试'
    } finally {
      state.loading = false
    }
  }

  function search(): Promise<void> {
    state.page = 1
    return load()
  }

  return { state, rows, load, search }
}
