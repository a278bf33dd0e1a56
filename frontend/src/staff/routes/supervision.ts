// The commission's screens (监测考核): its dashboard, indicators with drill-down, evaluation and yellow
// cards, reform tasks, conduct points and the blacklist; and the figures institutions enter by hand.
import type { RouteRecordRaw } from 'vue-router'
import type { MenuMeta } from '../menu'

const supervisors = ['卫健局管理员', '医共体管理员'] as const

export const screens: RouteRecordRaw[] = [
  {
    path: 'supervision/dashboard',
    name: 'supervision-dashboard',
    component: () => import('../views/supervision/DashboardView.vue'),
    meta: { title: '监测总览', group: 'supervision', roles: supervisors } satisfies MenuMeta,
  },
  {
    path: 'supervision/indicators',
    name: 'supervision-indicators',
    component: () => import('../views/supervision/IndicatorsView.vue'),
    meta: { title: '监测指标', group: 'supervision', roles: supervisors } satisfies MenuMeta,
  },
  {
    path: 'supervision/evaluation',
    name: 'supervision-evaluation',
    component: () => import('../views/supervision/EvaluationView.vue'),
    meta: { title: '监测评价', group: 'supervision', roles: supervisors } satisfies MenuMeta,
  },
  {
    path: 'supervision/tasks',
    name: 'supervision-tasks',
    component: () => import('../views/supervision/TasksView.vue'),
    // every staff account: a unit's reporters report on their tasks; the office imports and watches
    meta: {
      title: '改革任务',
      group: 'supervision',
      roles: ['卫健局管理员', '医共体管理员', '机构管理员', '医生', '家庭医生', '医保经办'],
    } satisfies MenuMeta,
  },
  {
    path: 'supervision/conduct',
    name: 'supervision-conduct',
    component: () => import('../views/supervision/ConductView.vue'),
    meta: {
      title: '执业记分',
      group: 'supervision',
      roles: ['卫健局管理员', '医共体管理员', '机构管理员'],
    } satisfies MenuMeta,
  },
  {
    path: 'supervision/figures',
    name: 'supervision-figures',
    component: () => import('../views/supervision/FiguresView.vue'),
    meta: { title: '数据填报', group: 'supervision', roles: ['机构管理员', '卫健局管理员'] } satisfies MenuMeta,
  },
]
