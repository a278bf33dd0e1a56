// The registry's vocabularies (registry/rules.py): the choices a form offers, as the API accepts them.
export const LEVELS = ['三级', '二级', '一级', '未定级']
export const GRADES = ['甲等', '乙等', '丙等']
export const INSTITUTION_TYPES = [
  '综合医院', '中医医院', '中西医结合医院', '专科医院', '妇幼保健院', '乡镇卫生院',
  '社区卫生服务中心', '社区卫生服务站', '村卫生室', '疾控中心', '卫生监督所', '急救中心',
]
export const CONSORTIUM_KINDS = ['县域医共体', '城市医疗集团', '专科联盟', '远程医疗协作网']
export const MEMBER_ROLES = ['牵头', '次中心', '成员']
export const PRACTITIONER_TYPES = ['执业医师', '执业助理医师', '乡村医生', '护士', '药师', '技师']
export const TITLES = [
  '主任医师', '副主任医师', '主治医师', '医师', '医士', '主任护师', '副主任护师', '主管护师', '护师', '护士',
  '主任药师', '副主任药师', '主管药师', '药师', '主管技师', '技师', '技士',
]
export const POSTING_KINDS = ['县管乡用', '乡聘村用', '派驻', '对口支援']

/** Element Plus' sort event as the API's `sort` parameter: the column, `-` first for descending. */
export function sortParam(prop: string | null, order: string | null, fallback: string): string {
  if (!prop || !order) return fallback
  return order === 'descending' ? `-${prop}` : prop
}
