// The left menu: groups by what a role does in a day, items from the routes' meta and filtered by
// role. The groups of the next wave (药品耗材, 公共卫生, 连续服务, 人员) get their place in GROUPS now;
// a group shows only once one of its screens exists and the role may open it.
import type { RouteRecordRaw } from 'vue-router'

export const STAFF_ROLES = ['卫健局管理员', '医共体管理员', '机构管理员', '医生', '家庭医生', '医保经办'] as const
export type StaffRole = (typeof STAFF_ROLES)[number]

export const GROUPS = [
  { key: 'home', title: '工作台' },
  { key: 'residents', title: '居民与签约' },
  { key: 'care', title: '预约转诊' },
  { key: 'diagnostics', title: '检查诊断' },
  { key: 'drugs', title: '药品耗材' },
  { key: 'public_health', title: '公共卫生' },
  { key: 'continuity', title: '连续服务' },
  { key: 'insurance', title: '医保支付' },
  { key: 'supervision', title: '监测考核' },
  { key: 'registry', title: '机构与人员' },
] as const

export interface MenuMeta {
  title: string
  group: (typeof GROUPS)[number]['key']
  roles: readonly StaffRole[]
}

export interface MenuGroup {
  key: string
  title: string
  items: { path: string; title: string }[]
}

export function menuFor(role: string | undefined, routes: readonly RouteRecordRaw[]): MenuGroup[] {
  const visible = routes.filter((r) => {
    const meta = r.meta as MenuMeta | undefined
    return meta?.title && meta.group && role !== undefined && meta.roles.includes(role as StaffRole)
  })
  return GROUPS.map((g) => ({
    key: g.key,
    title: g.title,
    items: visible
      .filter((r) => (r.meta as unknown as MenuMeta).group === g.key)
      .map((r) => ({ path: `/${r.path}`, title: (r.meta as unknown as MenuMeta).title })),
  })).filter((g) => g.items.length > 0)
}
