// The county hospital's day: the arrivals desk, referring a patient back down, the imaging centre's
// reading worklist and report editor, exam results with critical values for the ordering side, and the
// exam report print layout.
import type { RouteRecordRaw } from 'vue-router'
import type { MenuMeta } from '../menu'

export const screens: RouteRecordRaw[] = [
  {
    path: 'hospital/arrivals',
    name: 'hospital-arrivals',
    component: () => import('../views/hospital/ArrivalsView.vue'),
    meta: { title: '今日到诊', group: 'care', roles: ['医生', '机构管理员'] } satisfies MenuMeta,
  },
  {
    path: 'hospital/inpatients',
    name: 'hospital-inpatients',
    component: () => import('../views/hospital/InpatientsView.vue'),
    meta: { title: '在院患者', group: 'care', roles: ['医生', '机构管理员'] } satisfies MenuMeta,
  },
  {
    path: 'diagnostics/worklist',
    name: 'diagnostics-worklist',
    component: () => import('../views/diagnostics/WorklistView.vue'),
    meta: { title: '读片工作台', group: 'diagnostics', roles: ['医生'] } satisfies MenuMeta,
  },
  {
    path: 'diagnostics/orders/:id(\\d+)/report',
    name: 'diagnostics-report',
    component: () => import('../views/diagnostics/ReportEditor.vue'),
    meta: { title: '书写报告', roles: ['医生'] },
  },
  {
    path: 'diagnostics/results',
    name: 'diagnostics-results',
    component: () => import('../views/diagnostics/ResultsView.vue'),
    meta: {
      title: '检查结果与危急值',
      group: 'diagnostics',
      roles: ['医生', '家庭医生', '机构管理员'],
    } satisfies MenuMeta,
  },
  {
    // Requested by the township, answered by the county: both boxes on one screen.
    path: 'diagnostics/teleconsults',
    name: 'diagnostics-teleconsults',
    component: () => import('../views/diagnostics/TeleconsultsView.vue'),
    meta: { title: '远程会诊', group: 'diagnostics', roles: ['医生', '家庭医生', '机构管理员'] } satisfies MenuMeta,
  },
  {
    path: 'diagnostics/centres',
    name: 'diagnostics-centres',
    component: () => import('../views/diagnostics/CentresView.vue'),
    meta: {
      title: '共享中心运行',
      group: 'diagnostics',
      roles: ['卫健局管理员', '医共体管理员', '机构管理员'],
    } satisfies MenuMeta,
  },
]

export const prints: RouteRecordRaw[] = [
  {
    path: '/print/exam-report/:id(\\d+)',
    name: 'print-exam-report',
    component: () => import('../views/print/ExamReport.vue'),
    meta: { roles: ['医生', '家庭医生', '机构管理员'] },
  },
]
