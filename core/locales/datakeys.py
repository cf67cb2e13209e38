"""Catalog of the data keys (personal data encrypted at rest): start-up refusals, ``oms keys``."""

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
}
