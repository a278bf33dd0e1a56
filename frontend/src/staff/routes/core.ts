// Screens of the first slice: home, residents and contracts, the family doctor's workbench, the
// referral desk. Each area keeps its routes in one file of this folder; router.ts gathers them all.
import type { RouteRecordRaw } from 'vue-router'
import { STAFF_ROLES, type MenuMeta } from '../menu'

const everyone = STAFF_ROLES

// Screens inside the layout; each loads lazily, so the first view carries only what it shows.
export const screens: RouteRecordRaw[] = [
  {
    path: '',
    name: 'home',
    component: () => import('../views/HomeView.vue'),
    meta: { title: '首页', group: 'home', roles: everyone } satisfies MenuMeta,
  },
  {
    path: 'residents',
    name: 'residents',
    component: () => import('../views/residents/ResidentList.vue'),
    meta: { title: '居民档案', group: 'residents', roles: everyone } satisfies MenuMeta,
  },
  {
    path: 'residents/:id(\\d+)',
    name: 'resident',
    component: () => import('../views/residents/ResidentDetail.vue'),
    meta: { title: '居民详情', roles: everyone },
  },
  {
    path: 'family-doctor/workbench',
    name: 'workbench',
    component: () => import('../views/family_doctor/WorkbenchView.vue'),
    meta: {
      title: '家庭医生工作台',
      group: 'home',
      roles: ['家庭医生', '医生', '机构管理员', '医共体管理员'],
    } satisfies MenuMeta,
  },
  {
    path: 'referrals/incoming',
    name: 'referrals-incoming',
    component: () => import('../views/referral/IncomingReferrals.vue'),
    meta: { title: '转诊接收', group: 'care', roles: ['医生', '家庭医生', '机构管理员'] } satisfies MenuMeta,
  },
]

// Print layouts: outside the menu layout, one sheet of paper each.
export const prints: RouteRecordRaw[] = [
  {
    path: '/print/contract/:id(\\d+)',
    name: 'print-contract',
    component: () => import('../views/print/ContractAgreement.vue'),
    meta: { roles: everyone },
  },
]
