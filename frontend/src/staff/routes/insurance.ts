// The medical-insurance officer's screens (医保支付): the consortium's global-budget settlement with
// what-if terms, the DRG groups, cases with their grouping trace, outliers, CMI and point value per
// institution, and the claims import. The lists read only what the caller runs (the API scopes them).
import type { RouteRecordRaw } from 'vue-router'
import type { MenuMeta, StaffRole } from '../menu'

const settling: readonly StaffRole[] = ['医保经办', '卫健局管理员', '医共体管理员']

export const screens: RouteRecordRaw[] = [
  {
    path: 'insurance/settlement',
    name: 'insurance-settlement',
    component: () => import('../views/insurance/SettlementView.vue'),
    meta: { title: '总额付费清算', group: 'insurance', roles: settling } satisfies MenuMeta,
  },
  {
    path: 'insurance/drg/cases',
    name: 'insurance-drg-cases',
    component: () => import('../views/insurance/DrgCases.vue'),
    meta: { title: 'DRG病例', group: 'insurance', roles: settling } satisfies MenuMeta,
  },
  {
    path: 'insurance/drg/outliers',
    name: 'insurance-drg-outliers',
    component: () => import('../views/insurance/DrgCases.vue'),
    props: { outliers: true },
    meta: { title: '高/低倍率病例', group: 'insurance', roles: settling } satisfies MenuMeta,
  },
  {
    path: 'insurance/drg/institutions',
    name: 'insurance-drg-institutions',
    component: () => import('../views/insurance/DrgInstitutions.vue'),
    meta: { title: '机构CMI与点值', group: 'insurance', roles: settling } satisfies MenuMeta,
  },
  {
    path: 'insurance/drg/groups',
    name: 'insurance-drg-groups',
    component: () => import('../views/insurance/DrgGroups.vue'),
    meta: { title: 'DRG分组方案', group: 'insurance', roles: settling } satisfies MenuMeta,
  },
  {
    path: 'insurance/claims',
    name: 'insurance-claims',
    component: () => import('../views/insurance/ClaimsImport.vue'),
    meta: { title: '结算数据导入', group: 'insurance', roles: ['医保经办'] } satisfies MenuMeta,
  },
]
