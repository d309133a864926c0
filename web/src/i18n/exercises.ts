// The chapter's exercises not built yet, as the nav and the start page name them (a built one's
// label is its page's title). The Chinese table is typed against the English keys: a key missing
// in one language fails `tsc`.

export const en = {
  "ex.4": "Exercise 4: a load balancer with health checks",
  "ex.5": "Exercise 5: a distributed ID generator",
};

export const zh: Record<keyof typeof en, string> = {
  "ex.4": "练习 4：支持健康检查的负载均衡器",
  "ex.5": "练习 5：分布式 ID 生成器",
};
