import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import type { MenuMeta } from './menu'
import { loadSession, session } from './session'

// Every file in ./routes exports `screens` (inside the menu layout) and optionally `prints` (one
// sheet of paper each, outside the layout). An area adds its screens by adding its own file there.
interface RouteModule {
  screens?: RouteRecordRaw[]
  prints?: RouteRecordRaw[]
}
const modules = import.meta.glob<RouteModule>('./routes/*.ts', { eager: true })
const ordered = Object.keys(modules)
  .sort((a, b) => (a.endsWith('/core.ts') ? -1 : b.endsWith('/core.ts') ? 1 : a.localeCompare(b)))
  .map((key) => modules[key])

export const screens: RouteRecordRaw[] = ordered.flatMap((m) => m.screens ?? [])
const prints: RouteRecordRaw[] = ordered.flatMap((m) => m.prints ?? [])

export const router = createRouter({
  history: createWebHistory('/app/'),
  routes: [
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue') },
    ...prints,
    { path: '/', component: () => import('./layout/AppLayout.vue'), children: screens },
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFound.vue') },
  ],
})

router.beforeEach(async (to) => {
  if (to.name === 'login' || to.name === 'not-found') return true
  const account = await loadSession()
  if (!account) return { name: 'login', query: { next: to.fullPath } }
  const meta = to.meta as Partial<MenuMeta>
  if (meta.roles && !meta.roles.includes(session.account?.role as never)) return { name: 'home' }
  return true
})
