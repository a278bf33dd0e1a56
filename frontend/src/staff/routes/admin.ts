// The consortium's and the institution's administrators: teams and service packages, schedules and
// the booking policy, the shared diagnostic centres, QC records and the DICOM quarantine.
import type { RouteRecordRaw } from 'vue-router'
import type { MenuMeta } from '../menu'

const admins = ['医共体管理员', '机构管理员'] as const

export const screens: RouteRecordRaw[] = [
  {
    path: 'admin/teams',
    name: 'admin-teams',
    component: () => import('../views/admin/TeamList.vue'),
    meta: { title: '家庭医生团队', group: 'residents', roles: admins } satisfies MenuMeta,
  },
  {
    path: 'admin/packages',
    name: 'admin-packages',
    component: () => import('../views/admin/PackageList.vue'),
    meta: { title: '签约服务包', group: 'residents', roles: ['医共体管理员'] } satisfies MenuMeta,
  },
  {
    path: 'admin/schedules',
    name: 'admin-schedules',
    component: () => import('../views/admin/ScheduleList.vue'),
    meta: { title: '排班与号源', group: 'care', roles: ['机构管理员'] } satisfies MenuMeta,
  },
  {
    path: 'admin/schedules/:id(\\d+)',
    name: 'admin-schedule-week',
    component: () => import('../views/admin/ScheduleWeek.vue'),
    meta: { title: '号源周视图', roles: ['机构管理员'] },
  },
  {
    path: 'admin/booking-policy',
    name: 'admin-booking-policy',
    component: () => import('../views/admin/BookingPolicy.vue'),
    meta: { title: '预约政策与号源报表', group: 'care', roles: ['机构管理员'] } satisfies MenuMeta,
  },
  {
    path: 'admin/centres',
    name: 'admin-centres',
    component: () => import('../views/admin/DiagnosticCentres.vue'),
    meta: { title: '共享中心与互认', group: 'diagnostics', roles: admins } satisfies MenuMeta,
  },
  {
    path: 'admin/quarantine',
    name: 'admin-quarantine',
    component: () => import('../views/admin/DicomQuarantine.vue'),
    meta: { title: '影像隔离区', group: 'diagnostics', roles: admins } satisfies MenuMeta,
  },
  {
    path: 'admin/qc',
    name: 'admin-qc',
    component: () => import('../views/admin/QcRecords.vue'),
    meta: { title: '质控记录', group: 'diagnostics', roles: admins } satisfies MenuMeta,
  },
]
