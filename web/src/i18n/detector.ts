// 46.1.2 the failure-detector view. The Chinese table is typed against the English keys: a key
// missing in one language fails `tsc`.

export const en = {
  "detector.title": "Failure detection: fixed timeout and phi accrual",
  "detector.intro": "A target sends a heartbeat every 100 ms over a link with 1–50 ms of jitter and 1% loss; now and then it stops for a GC pause; at 20 s it crashes. One monitor judges it two ways at once: a fixed timeout (suspect after so long without a heartbeat) and phi accrual (suspect when a heartbeat this late becomes unlikely, given how they have arrived so far).",
  "detector.wrong": "What the chapter gets wrong: its heartbeat check is a fixed timeout. Short enough to notice a crash quickly, it also suspects a healthy node on every pause longer than the timeout (red before the crash: false suspicions, each of which would trigger a needless failover); long enough to avoid them, it notices a crash late. Phi accrual adapts to the link it measures.",
  "detector.timeout": "Fixed timeout",
  "detector.threshold": "Phi threshold",
  "detector.pauses": "GC pauses",
  "detector.pause": "Pause the target 1 s",
  "detector.cut": "Cut the link",
  "detector.row.target": "target",
  "detector.row.fixed": "timeout {ms} ms",
  "detector.row.phi": "phi ≥ {phi}",
  "detector.legend": "Grey: the target paused; ✕: it crashed. In each detector's row, red is a suspicion of a target that was running (a false one), dark a suspicion of a crashed target (a right one); the green line is trust.",
  "detector.col.detection": "crash noticed after",
  "detector.col.false": "false suspicions before",
  "detector.notYet": "not yet",
};

export const zh: Record<keyof typeof en, string> = {
  "detector.title": "故障检测：固定超时与 phi 累积",
  "detector.intro": "目标节点每 100 ms 发送一次心跳，链路有 1–50 ms 的抖动和 1% 的丢包；它不时因 GC 暂停而停顿，并在 20 s 时崩溃。同一个监视器同时用两种方式判断它：固定超时（超过一定时间没有心跳就怀疑）和 phi 累积（根据心跳迄今的到达规律，当这么晚的心跳变得不太可能时才怀疑）。",
  "detector.wrong": "本章代码的问题：它的心跳检查是固定超时。超时短到能尽快发现崩溃，就会在每次长于超时的暂停时怀疑一个健康的节点（崩溃前的红色：误判，每一次都会引发一次不必要的故障转移）；长到能避免误判，发现崩溃就晚了。phi 累积会适应它所测量的链路。",
  "detector.timeout": "固定超时",
  "detector.threshold": "phi 阈值",
  "detector.pauses": "GC 暂停",
  "detector.pause": "让目标暂停 1 s",
  "detector.cut": "切断链路",
  "detector.row.target": "目标",
  "detector.row.fixed": "超时 {ms} ms",
  "detector.row.phi": "phi ≥ {phi}",
  "detector.legend": "灰色：目标暂停；✕：目标崩溃。每个检测器一行：红色表示怀疑一个仍在运行的目标（误判），深色表示怀疑一个已崩溃的目标（正确）；绿线表示信任。",
  "detector.col.detection": "发现崩溃用时",
  "detector.col.false": "此前误判次数",
  "detector.notYet": "尚未发现",
};
