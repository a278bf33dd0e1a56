// The signed-in account, shared by the router guard, the menu and the header.
import { reactive } from 'vue'
import { api, ApiError, setCsrfToken, type Schemas } from '@/api/client'

type Account = Schemas['SessionOut']

export const session = reactive<{ account: Account | null; checked: boolean }>({
  account: null,
  checked: false,
})

function remember(account: Account | null): void {
  session.account = account
  session.checked = true
  setCsrfToken(account?.csrf_token ?? '')
}

export async function loadSession(): Promise<Account | null> {
  if (session.checked) return session.account
  try {
    remember(await api.get<Account>('/api/auth/session'))
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error
    remember(null)
  }
  return session.account
}

export async function signIn(username: string, password: string): Promise<Account> {
  const account = await api.post<Account>('/api/auth/session', { username, password })
  remember(account)
  return account
}

export async function signOut(): Promise<void> {
  await api.del<void>('/api/auth/session')
  remember(null)
}
