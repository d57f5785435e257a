/* log.h: timestamped daemon log lines on stderr (journald picks them up). */
#ifndef VMMS_LOG_H
#define VMMS_LOG_H

enum { LOG_ERR_ = 0, LOG_WARN_ = 1, LOG_INFO_ = 2, LOG_DEBUG_ = 3 };

extern int vmms_log_level;

void vmms_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) vmms_log(LOG_ERR_, __VA_ARGS__)
#define log_warn(...) vmms_log(LOG_WARN_, __VA_ARGS__)
#define log_info(...) vmms_log(LOG_INFO_, __VA_ARGS__)
#define log_debug(...) vmms_log(LOG_DEBUG_, __VA_ARGS__)

#endif
