"""Catalog of encrypted and scheduled backups (the backup key, refusals of a restore, the
schedule on the Backup and Shop settings pages) and of the TLS certificate command."""

ZH: dict[str, str] = {
    # the backup key
    "backups.key_missing": "没有配置备份密钥：请用 oms backup-key create 文件 生成密钥文件，并设置环境变量 "
                           "OMS_BACKUP_KEY_FILE（或 OMS_BACKUP_KEY）。",
    "backups.key_invalid": "{source} 中的备份密钥不是 base64 编码的 32 字节密钥。",
    "backups.key_unreadable": "无法读取备份密钥 {source}（{reason}）。",
    "backups.key_exists": "{file} 已存在，不会覆盖现有密钥。",
    "backups.too_large": "备份超过单个文件上限（{chunks} 个数据块）。",
    # refusals of a restore
    "backups.not_a_backup": "{file} 不是 OMS 备份文件。",
    "backups.not_encrypted": "{file} 不是加密的 OMS 备份。",
    "backups.plain_refused": "{file} 是旧版本生成的未加密备份；只有确认其来源可信时，才可用 oms restore --allow-plain 恢复。",
    "backups.wrong_key": "{file} 是用备份密钥 {made_with} 加密的，而本机配置的密钥（{source}）是 {configured}。"
                         "请设置 OMS_BACKUP_KEY_FILE 为当时使用的密钥。未做任何改动。",
    "backups.tampered": "{file} 在第 {offset} 字节处校验失败：文件在写入后被修改或损坏。未做任何改动。",
    "backups.truncated": "{file} 在第 {offset} 字节处提前结束：文件不完整（被截断）。未做任何改动。",
    "backups.other_backend": "{file} 是 {backend} 数据库的备份，不能恢复到 {target} 数据库。",
    "backups.manifest_mismatch": "{file} 恢复出的数据与其清单不符（{tables}）。未做任何改动。",
    # scheduled backups: alerts, progress
    "backups.alert_failed": "定时备份失败：{reason}",
    "backups.alert_overdue": "最近一次成功的定时备份是 {since}（UTC），已超过计划时间。",
    "backups.alert_never": "定时备份已尝试运行，但还没有成功过。",
    "backups.progress.writing": "正在写入加密备份…",
    "backups.progress.verifying": "正在试恢复到临时数据库以验证备份…",
    "backups.progress.pruning": "正在清理旧的备份…",
    "alert_kind.backup_failed": "备份失败",
    "alert_kind.backup_overdue": "备份过期",
    "action.backup.scheduled": "定时备份",
    # the Backup page: schedule
    "backups.schedule": "定时备份",
    "backups.schedule_help": "工作进程按店铺设置中的时间自动备份到第二个位置，每份备份都会先试恢复到临时数据库验证，"
                             "然后按保留份数删除最旧的备份。",
    "backups.last_run": "上次运行",
    "backups.next_run": "下次运行",
    "backups.generations": "保留的备份",
    "backups.generations_of": "{n} / {keep}",
    "backups.never": "从未",
    "backups.off": "已关闭",
    "backups.location": "备份位置：{path}",
    "backups.same_disk": "备份位置与数据库在同一块磁盘上：磁盘损坏会同时失去两者。请把环境变量 OMS_BACKUP_TARGET_DIR "
                         "设为另一块磁盘或网络存储上的目录。",
    "backups.key_in_use": "备份用密钥 {key_id} 加密。密钥不在数据库中，请另外保管一份：没有它，任何备份都无法恢复。",
    "backups.overdue": "定时备份已过期：最近一次成功的备份是 {since}。",
    "backups.last_failed": "上次定时备份失败：{reason}",
    "backups.run_now": "立即运行定时备份",
    "backups.run_queued": "定时备份已排队（任务 {job}），工作进程会执行它。",
    "backup_run.succeeded": "成功",
    "backup_run.failed": "失败",
    "backup_run.queued": "排队中",
    "backup_run.running": "运行中",
    "backup_run.cancelled": "已取消",
    # Shop settings
    "shop_settings.backups": "定时备份",
    "shop_settings.backup_enabled": "启用定时备份",
    "shop_settings.backup_hour": "备份时间（时）",
    "shop_settings.backup_minute": "备份时间（分）",
    "shop_settings.backup_every_days": "每隔几天",
    "shop_settings.backup_keep": "保留份数",
    "shop_settings.backup_help": "按店铺时区的时间运行；备份写到服务器的 OMS_BACKUP_TARGET_DIR 目录。",
    "field.size_mb": "大小（MB）",
    "field.backup_schedule.enabled": "启用定时备份",
    "field.backup_schedule.hour": "备份时间（时）",
    "field.backup_schedule.minute": "备份时间（分）",
    "field.backup_schedule.every_days": "每隔几天",
    "field.backup_schedule.keep": "保留份数",
    # TLS
    "tls.bad_host": "{host} 不是有效的主机名或 IP 地址。",
    "tls.too_many_hosts": "一个证书最多 {limit} 个主机名。",
    "tls.bad_days": "有效期 {days} 天不在 1 到 {limit} 天之间。",
    "tls.exists": "{file} 已存在；要替换请加 --force。",
    "tls.pair_needed": "HTTPS 需要同时提供 --ssl-certfile 和 --ssl-keyfile。",
    "tls.no_file": "找不到文件 {file}。",
}

EN: dict[str, str] = {
    # the backup key
    "backups.key_missing": "No backup key is configured: create a key file with `oms backup-key create FILE` and set "
                           "OMS_BACKUP_KEY_FILE (or OMS_BACKUP_KEY).",
    "backups.key_invalid": "The backup key in {source} is not a 32-byte key in base64.",
    "backups.key_unreadable": "The backup key {source} cannot be read ({reason}).",
    "backups.key_exists": "{file} exists already; an existing key is never overwritten.",
    "backups.too_large": "The backup is larger than one file can hold ({chunks} blocks).",
    # refusals of a restore
    "backups.not_a_backup": "{file} is not an OMS backup.",
    "backups.not_encrypted": "{file} is not an encrypted OMS backup.",
    "backups.plain_refused": "{file} is an unencrypted backup of an earlier version; restore it with "
                             "`oms restore --allow-plain` only if you trust where it was kept.",
    "backups.wrong_key": "{file} was encrypted with backup key {made_with}, but the key configured here ({source}) is "
                         "{configured}. Set OMS_BACKUP_KEY_FILE to the key it was made with. Nothing was changed.",
    "backups.tampered": "{file} fails authentication at byte {offset}: it was changed or damaged after it was "
                        "written. Nothing was changed.",
    "backups.truncated": "{file} ends early at byte {offset}: it is incomplete (cut off). Nothing was changed.",
    "backups.other_backend": "{file} is a backup of a {backend} database and cannot be restored into {target}.",
    "backups.manifest_mismatch": "The data restored from {file} differs from its manifest ({tables}). "
                                 "Nothing was changed.",
    # scheduled backups: alerts, progress
    "backups.alert_failed": "Scheduled backup failed: {reason}",
    "backups.alert_overdue": "The newest good scheduled backup is from {since} (UTC), older than its schedule allows.",
    "backups.alert_never": "Scheduled backups were tried but none has succeeded yet.",
    "backups.progress.writing": "Writing the encrypted backup…",
    "backups.progress.verifying": "Verifying the backup by a trial restore into a scratch database…",
    "backups.progress.pruning": "Removing old generations…",
    "alert_kind.backup_failed": "Backup failed",
    "alert_kind.backup_overdue": "Backup overdue",
    "action.backup.scheduled": "Scheduled backup",
    # the Backup page: schedule
    "backups.schedule": "Scheduled backups",
    "backups.schedule_help": "The worker backs up to a second location at the time set in Shop settings, verifies "
                             "each backup by a trial restore into a scratch database, then removes the oldest "
                             "beyond the number kept.",
    "backups.last_run": "Last run",
    "backups.next_run": "Next run",
    "backups.generations": "Generations kept",
    "backups.generations_of": "{n} / {keep}",
    "backups.never": "never",
    "backups.off": "off",
    "backups.location": "Location: {path}",
    "backups.same_disk": "The backups are on the same disk as the database: one failing disk loses both. Set "
                         "OMS_BACKUP_TARGET_DIR to a folder on another disk or a network share.",
    "backups.key_in_use": "Backups are encrypted with key {key_id}. The key is not in the database: keep a copy "
                          "elsewhere — without it no backup can be restored.",
    "backups.overdue": "Scheduled backups are overdue: the newest good one is from {since}.",
    "backups.last_failed": "The last scheduled backup failed: {reason}",
    "backups.run_now": "Run the scheduled backup now",
    "backups.run_queued": "Scheduled backup queued (job {job}); the worker will run it.",
    "backup_run.succeeded": "succeeded",
    "backup_run.failed": "failed",
    "backup_run.queued": "queued",
    "backup_run.running": "running",
    "backup_run.cancelled": "cancelled",
    # Shop settings
    "shop_settings.backups": "Scheduled backups",
    "shop_settings.backup_enabled": "Scheduled backups on",
    "shop_settings.backup_hour": "Backup time (hour)",
    "shop_settings.backup_minute": "Backup time (minute)",
    "shop_settings.backup_every_days": "Every N days",
    "shop_settings.backup_keep": "Generations to keep",
    "shop_settings.backup_help": "In the shop's timezone; the backups go to the server's OMS_BACKUP_TARGET_DIR.",
    "field.size_mb": "Size (MB)",
    "field.backup_schedule.enabled": "Scheduled backups on",
    "field.backup_schedule.hour": "Backup time (hour)",
    "field.backup_schedule.minute": "Backup time (minute)",
    "field.backup_schedule.every_days": "Every N days",
    "field.backup_schedule.keep": "Generations to keep",
    # TLS
    "tls.bad_host": "{host} is not a valid host name or IP address.",
    "tls.too_many_hosts": "A certificate holds at most {limit} host names.",
    "tls.bad_days": "A validity of {days} days is not between 1 and {limit}.",
    "tls.exists": "{file} exists already; add --force to replace it.",
    "tls.pair_needed": "HTTPS needs both --ssl-certfile and --ssl-keyfile.",
    "tls.no_file": "No such file {file}.",
}
