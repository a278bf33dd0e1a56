// Report templates per modality and body part, and the common phrases a reader inserts. Kept in the
// front end beside the editor: they are wording, not data of the platform — they change with the
// editor, need no per-institution storage yet, and a screen of their own (with an API and a table)
// would only be needed once a centre edits its own set.

export interface ReportTemplate {
  name: string
  modalities: string[] // the exam modalities it fits (rules.MODALITIES keys)
  bodyPart?: string // matched against the order's body part or item name
  findings: string
  impression: string
}

export const TEMPLATES: ReportTemplate[] = [
  {
    name: '胸部正位片（正常）',
    modalities: ['DX', 'CR'],
    bodyPart: '胸',
    findings:
      '胸廓对称，气管居中。双肺纹理清晰，走行自然，双肺野未见明确实质性病变。双肺门影不大。心影大小、形态未见异常。双侧膈面光整，肋膈角锐利。所见骨质未见明显异常。',
    impression: '心肺膈未见明显异常。',
  },
  {
    name: '胸部正位片（肺炎）',
    modalities: ['DX', 'CR'],
    bodyPart: '胸',
    findings:
      '胸廓对称，气管居中。右下肺野见斑片状模糊影，边界不清，其内未见空洞。余肺纹理增多、增粗。双肺门影不大。心影大小、形态未见异常。双侧膈面光整，肋膈角锐利。',
    impression: '右下肺炎，建议抗感染治疗后复查。',
  },
  {
    name: '腰椎正侧位片',
    modalities: ['DX', 'CR'],
    bodyPart: '腰',
    findings:
      '腰椎生理曲度存在，序列整齐。诸椎体边缘骨质增生，呈唇样改变。椎间隙未见明显狭窄。附件结构未见明显异常。椎旁软组织未见异常。',
    impression: '腰椎退行性变。',
  },
  {
    name: '头颅CT平扫（正常）',
    modalities: ['CT'],
    bodyPart: '头',
    findings:
      '脑实质内未见异常密度影，灰白质分界清楚。脑室系统大小、形态未见异常，脑沟、脑池未见增宽，中线结构居中。颅骨骨质未见异常。',
    impression: '头颅CT平扫未见明显异常。',
  },
  {
    name: '头颅CT平扫（腔隙性脑梗死）',
    modalities: ['CT'],
    bodyPart: '头',
    findings:
      '双侧基底节区见多发斑点状低密度影，边界尚清，最大者直径约0.6cm。脑室系统未见扩大，脑沟、脑池略增宽，中线结构居中。颅骨骨质未见异常。',
    impression: '双侧基底节区多发腔隙性脑梗死；脑萎缩。',
  },
  {
    name: '胸部CT平扫',
    modalities: ['CT'],
    bodyPart: '胸',
    findings:
      '胸廓对称，气管、支气管通畅。双肺纹理清晰，未见明确结节及实变影。纵隔内未见肿大淋巴结。心脏大小正常，心包未见积液。双侧胸腔未见积液。',
    impression: '胸部CT平扫未见明显异常。',
  },
  {
    name: '磁共振（颅脑）',
    modalities: ['MR'],
    findings:
      '脑实质内未见异常信号影，DWI未见弥散受限。脑室系统大小、形态正常，中线结构居中。垂体、脑干及小脑未见异常。',
    impression: '颅脑MRI平扫未见明显异常。',
  },
  {
    name: '十二导联心电图（正常）',
    modalities: ['ECG'],
    findings: '窦性心律，心率__次/分，PR间期__ms，QRS时限__ms，QT/QTc __/__ms。各导联ST段未见明显偏移，T波未见异常。',
    impression: '窦性心律，正常心电图。',
  },
  {
    name: '十二导联心电图（ST段抬高）',
    modalities: ['ECG'],
    findings: '窦性心律，心率__次/分。V1–V4导联ST段弓背向上抬高0.2–0.4mV，II、III、aVF导联ST段压低。',
    impression: '急性前壁ST段抬高型心肌梗死可能，请立即处理（危急值）。',
  },
  {
    name: '腹部超声',
    modalities: ['US'],
    bodyPart: '腹',
    findings: '肝脏大小形态正常，包膜光整，实质回声均匀。胆囊不大，壁光滑，腔内未见异常回声。胰腺、脾脏未见异常。双肾大小形态正常，集合系统未见分离。',
    impression: '肝、胆、胰、脾、双肾未见明显异常。',
  },
]

export const PHRASES: { group: string; items: string[] }[] = [
  {
    group: '常用所见',
    items: ['双肺纹理增多、增粗', '心影增大', '主动脉结钙化', '肋膈角变钝', '骨质疏松', '未见明显骨折征象', '边界清楚', '边界模糊'],
  },
  {
    group: '常用意见',
    items: ['建议结合临床', '建议短期复查', '建议进一步CT检查', '建议专科就诊', '较前片比较无明显变化', '较前片病灶吸收好转'],
  },
  {
    group: '危急值',
    items: ['大量气胸', '急性脑出血', '主动脉夹层可能', '急性心肌梗死可能', '已电话通知开单医生'],
  },
]

/** Templates fitting an order: its modality first, those whose body part matches it before the rest. */
export function templatesFor(modality: string, where: string): ReportTemplate[] {
  return TEMPLATES.filter((t) => t.modalities.includes(modality)).sort(
    (a, b) => Number(!!b.bodyPart && where.includes(b.bodyPart)) - Number(!!a.bodyPart && where.includes(a.bodyPart)),
  )
}
