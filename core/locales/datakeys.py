"""Catalog of the data keys (personal data encrypted at rest): start-up refusals, ``oms keys``,
and the setting that encrypts customers' names (Settings page, job ``names.convert``)."""

ZH: dict[str, str] = {
    "keys.missing": "没有找到数据密钥：请设置环境变量 {env}，或把密钥文件放在 {path}（见 docs/security.md）。",
    "keys.wrong": "数据密钥不对：数据库用密钥 {kid} 加密，而 {source} 里的同名密钥不是它。请换用正确的密钥文件。",
    "keys.absent_id": "数据库里的数据用密钥 {kid} 加密，但 {source} 里没有这把密钥。",
    "keys.unknown_id": "这条数据用密钥 {kid} 加密，当前的密钥里没有它。",
    "keys.undecryptable": "一条用密钥 {kid} 加密的数据无法解密（密钥不对，或数据被改动过）。",
    "keys.malformed": "密钥（{source}）格式不对或已损坏。",
    "keys.not_initialised": "数据库里的个人信息还没有加密：请先运行 oms keys init。",
    "keys.beside_data": "密钥文件 {path} 不能和数据库放在同一个目录：请用 OMS_KEY_FILE 指定别处。",
    "keys.use_rotate": "数据库已用另一把密钥加密；要换成密钥 {kid}，请运行 oms keys rotate。",
    "keys.rotate_needs_file": "更换密钥需要密钥文件（OMS_KEY_FILE）；密钥写在环境变量 {env} 中时不能在运行中更换。",
    "keys.pass_incomplete": "加密到密钥 {kid} 后仍有 {rows} 个值未完成，请再运行一次。",
    "action.keys.init": "加密个人信息",
    "action.keys.rotate": "更换数据密钥",
    "names.title": "客户姓名",
    "names.setting": "加密保存客户姓名",
    "names.setting_help": "开启后，数据库中的客户姓名与电话、地址一样加密保存（复制数据库的人看不到）。"
                          "代价：按姓名搜索只能输入完整姓名（部分姓名请改用电话、客户编号或订单号）。"
                          "切换后由后台任务分批转换已有的姓名。",
    "names.state": "数据库中：{sealed} 个姓名已加密，{plain} 个未加密。",
    "names.switched_on": "已开启姓名加密，后台任务 #{job} 正在转换已有的姓名。",
    "names.switched_off": "已关闭姓名加密，后台任务 #{job} 正在还原已有的姓名。",
    "names.unchanged": "设置没有变化。",
    "names.progress": "正在转换客户姓名：已到客户编号 {done} / {total}",
    "names.done": "姓名转换完成：改写 {rewritten} 个，逐一核对 {verified} 个。",
    "names.pass_incomplete": "转换三遍后仍有 {rows} 个姓名未完成，请重试该任务。",
    "action.names.encryption": "切换客户姓名加密",
    "action.names.convert": "转换客户姓名",
}

EN: dict[str, str] = {
    "keys.missing": "No data key found: set {env}, or put the key file at {path} (see docs/security.md).",
    "keys.wrong": "Wrong data key: the database was encrypted with key {kid}, and the key of that id in {source} "
                  "is another. Use the right key file.",
    "keys.absent_id": "The database holds data encrypted with key {kid}, which {source} does not have.",
    "keys.unknown_id": "This value is encrypted with key {kid}, which the current keys do not include.",
    "keys.undecryptable": "A value encrypted with key {kid} does not decrypt (wrong key, or the data was altered).",
    "keys.malformed": "The data keys ({source}) are malformed or damaged.",
    "keys.not_initialised": "The personal data in this database is not encrypted yet: run oms keys init first.",
    "keys.beside_data": "The key file {path} must not sit in the database's directory: point OMS_KEY_FILE elsewhere.",
    "keys.use_rotate": "The database is encrypted with another key; to move to key {kid}, run oms keys rotate.",
    "keys.rotate_needs_file": "Rotating keys needs a key file (OMS_KEY_FILE); keys given in {env} cannot change "
                              "under running processes.",
    "keys.pass_incomplete": "After encrypting to key {kid}, {rows} values are still not done: run it again.",
    "action.keys.init": "Personal data encrypted",
    "action.keys.rotate": "Data key rotated",
    "names.title": "Customer names",
    "names.setting": "Encrypt customer names",
    "names.setting_help": "When on, customers' names are stored encrypted like their phones and addresses (a copy "
                          "of the database does not show them). The cost: a name search must give the whole name "
                          "(for part of a name, search by phone, customer code or order number). Switching "
                          "converts the stored names in a background job.",
    "names.state": "In the database: {sealed} names encrypted, {plain} not encrypted.",
    "names.switched_on": "Name encryption is on; job #{job} is encrypting the stored names.",
    "names.switched_off": "Name encryption is off; job #{job} is decrypting the stored names.",
    "names.unchanged": "Nothing changed.",
    "names.progress": "Converting customer names: up to customer id {done} of {total}",
    "names.done": "Names converted: {rewritten} rewritten, {verified} checked one by one.",
    "names.pass_incomplete": "After three passes {rows} names are still not converted: retry the job.",
    "action.names.encryption": "Customer name encryption switched",
    "action.names.convert": "Customer names converted",
}
