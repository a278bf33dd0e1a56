import { createRouter, createWebHistory } from 'vue-router'
import { loadFamily, loadSession, portal } from './session'

// The residents' phone pages, served under /m/ (old /portal addresses redirect here). Each page loads lazily.
export const router = createRouter({
  history: createWebHistory('/m/'),
  routes: [
    { path: '/login', component: () => import('./views/LoginView.vue'), meta: { title: '登录', public: true } },
    { path: '/', component: () => import('./views/HomeView.vue'), meta: { title: '我的健康', tab: 'home' } },
    { path: '/record', component: () => import('./views/RecordView.vue'), meta: { title: '健康档案', tab: 'record' } },
    { path: '/booking', component: () => import('./views/BookingView.vue'), meta: { title: '预约挂号', tab: 'booking' } },
    { path: '/bookings', component: () => import('./views/BookingsView.vue'), meta: { title: '我的预约', tab: 'bookings' } },
    { path: '/bookings/:id', component: () => import('./views/BookingSlip.vue'), meta: { title: '预约凭条' } },
    { path: '/access', component: () => import('./views/AccessView.vue'), meta: { title: '谁看过我的档案', tab: 'mine' } },
    { path: '/mine', component: () => import('./views/MineView.vue'), meta: { title: '我的', tab: 'mine' } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach(async (to) => {
  document.title = `${String(to.meta.title ?? '我的健康')} · 医联`
  const account = await loadSession()
  if (to.meta.public) return account ? { path: '/' } : true
  if (!account) return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (!portal.people.length) await loadFamily()
  // An old bookmark's ?person=… picks that family member (the API still checks the account may).
  const asked = Number(to.query.person)
  if (asked && portal.people.some((p) => p.id === asked)) portal.personId = asked
  return true
})
