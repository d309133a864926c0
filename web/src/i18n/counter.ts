// 46.1 the CRDT counter view. The Chinese table is typed against the English keys: a key missing in one
// language fails `tsc`.

export const en = {
  "counter.title": "CRDT counter under faults",
  "counter.intro": "Three replicas of a PN-Counter apply local updates and gossip their state. Partition links, crash or pause replicas, and check that they still converge to the exact total once the network heals.",
  "counter.merge": "Merge rule",
  "counter.mergeCrdt": "CRDT (entry-wise max)",
  "counter.mergeChapter": "the chapter's (vector clock only)",
  "counter.replica": "Replica",
  "counter.status.up": "up",
  "counter.status.paused": "paused",
  "counter.status.crashed": "crashed",
  "counter.pause": "Pause 500 ms",
  "counter.partition": "Partition {node} from the rest",
  "counter.heal": "Heal all links",
  "counter.inFlight": "Messages in flight",
  "counter.vclock": "version vector",
  "counter.hash": "Trace hash",
  "counter.wrong": "What the chapter gets wrong: DistributedCounter.merge merges the vector clocks but never the counts, so replicas never agree. Switch the merge rule to see the checker catch it.",
};

export const zh: Record<keyof typeof en, string> = {
  "counter.title": "故障下的 CRDT 计数器",
  "counter.intro": "三个 PN-Counter 副本各自执行本地更新并通过 gossip 交换状态。切断链路、让副本崩溃或暂停，然后检验网络恢复后它们是否仍收敛到精确的总数。",
  "counter.merge": "合并规则",
  "counter.mergeCrdt": "CRDT（逐项取最大值）",
  "counter.mergeChapter": "本章的（只合并向量时钟）",
  "counter.replica": "副本",
  "counter.status.up": "运行中",
  "counter.status.paused": "已暂停",
  "counter.status.crashed": "已崩溃",
  "counter.pause": "暂停 500 毫秒",
  "counter.partition": "将 {node} 与其余节点隔离",
  "counter.heal": "恢复所有链路",
  "counter.inFlight": "传输中的消息",
  "counter.vclock": "版本向量",
  "counter.hash": "轨迹哈希",
  "counter.wrong": "本章代码的问题：DistributedCounter.merge 只合并向量时钟而从不合并计数，因此副本永远无法一致。切换合并规则，看检查器如何发现它。",
};
