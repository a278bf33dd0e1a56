// The township family doctor's day beyond the workbench: the chronic follow-up on the national form,
// the upward referral with a reserved county place and its 双向转诊单, the exam order with the
// mutual-recognition prompt, the long prescription. Each is about one resident, reached from the
// workbench row or the resident's page, so none is a menu item.
import type { RouteRecordRaw } from 'vue-router'

const clinicians = ['家庭医生', '医生', '机构管理员'] as const

export const screens: RouteRecordRaw[] = [
  {
    path: 'family-doctor/residents/:id(\\d+)/follow-up',
    name: 'fd-follow-up',
    component: () => import('../views/family_doctor/FollowUpForm.vue'),
    meta: { title: '慢病随访', roles: ['家庭医生', '医生'] },
  },
  {
    path: 'family-doctor/residents/:id(\\d+)/referral',
    name: 'fd-refer-up',
    component: () => import('../views/family_doctor/ReferUp.vue'),
    meta: { title: '上转', roles: clinicians },
  },
  {
    path: 'family-doctor/residents/:id(\\d+)/exam',
    name: 'fd-exam-order',
    component: () => import('../views/family_doctor/ExamOrder.vue'),
    meta: { title: '开具检查', roles: clinicians },
  },
  {
    path: 'family-doctor/residents/:id(\\d+)/prescription',
    name: 'fd-long-prescription',
    component: () => import('../views/family_doctor/LongPrescription.vue'),
    meta: { title: '长期处方', roles: ['家庭医生', '医生'] },
  },
]

export const prints: RouteRecordRaw[] = [
  {
    path: '/print/referral/:id(\\d+)',
    name: 'print-referral',
    component: () => import('../views/family_doctor/ReferralSlip.vue'),
    meta: { roles: clinicians },
  },
]
