// The exercise frame (steps, choices, answers). The Chinese table is typed against the English keys: a key missing in one
// language fails `tsc`.

export const en = {
  "ex.1": "1. Lock service with renewal",
  "ex.2": "2. Message queue with retries",
  "ex.3": "3. Cache with several policies",
  "ex.4": "4. Load balancer with health checks",
  "ex.5": "5. Distributed ID generator",
};

export const zh: Record<keyof typeof en, string> = {
  "ex.1": "1. 支持自动续期的分布式锁服务",
  "ex.2": "2. 支持持久化与重试的消息队列",
  "ex.3": "3. 支持多种策略的缓存系统",
  "ex.4": "4. 支持健康检查的负载均衡器",
  "ex.5": "5. 分布式 ID 生成器",
};
