// 机构与人员: the county's institutions, consortia (members, grids), staff and their postings.
// Reading is open to the administrators; the API's scope rules decide who may create what.
import type { RouteRecordRaw } from 'vue-router'
import type { MenuMeta, StaffRole } from '../menu'

const admins: readonly StaffRole[] = ['卫健局管理员', '医共体管理员', '机构管理员']

export const screens: RouteRecordRaw[] = [
  {
    path: 'registry/institutions',
    name: 'registry-institutions',
    component: () => import('../views/registry/InstitutionList.vue'),
    meta: { title: '医疗机构', group: 'registry', roles: admins } satisfies MenuMeta,
  },
  {
    path: 'registry/consortia',
    name: 'registry-consortia',
    component: () => import('../views/registry/ConsortiumList.vue'),
    meta: { title: '医联体与网格', group: 'registry', roles: admins } satisfies MenuMeta,
  },
  {
    path: 'registry/consortia/:id(\\d+)',
    name: 'registry-consortium',
    component: () => import('../views/registry/ConsortiumDetail.vue'),
    meta: { title: '医联体详情', roles: admins },
  },
  {
    path: 'registry/staff',
    name: 'registry-staff',
    component: () => import('../views/registry/StaffList.vue'),
    meta: { title: '人员与派驻', group: 'registry', roles: admins } satisfies MenuMeta,
  },
]
