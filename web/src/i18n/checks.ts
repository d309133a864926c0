// The checkers' messages in Chinese, by message code. The English templates live in the engine
// (engine/src/check/message.rs), which also renders a verdict's English `detail`; the test
// tests/tests/messages.rs checks that this table has exactly the engine's codes, each with the
// same placeholders.

import type { Message } from "../engine";

export const zh: Record<string, string> = {
  "mutex.stale_write": "过期持有者的写入被接受了：{write}，在 {previous} 之后",
  "mutex.same_grant": "两次持有在同一时刻被授予：{write} 与 {previous}",
  "mutex.write": "{client}（第 {hold} 次持有，t = {granted} 获得）在 t = {at} 写入",
  "mutex.write_fenced": "{client}（第 {hold} 次持有，t = {granted} 获得，令牌 {token}）在 t = {at} 写入",
  "mutex.writes_ordered": "来自 {holds} 次持有的 {writes} 次写入被接受，从未有较旧的持有排在较新的之后",
  "mutex.exclusive": "{holds} 次持有，从未有两个客户端同时认为自己持有锁",
  "mutex.exclusive_shared": "{holds} 次持有（其中 {shared} 次共享），写者从未与其他任何人同时认为自己持有锁",
  "mutex.overlap": "有 {overlaps} 次两个客户端同时认为自己持有锁，第一次是 {first}（t = {first_from} 至 {first_to}）与 {second}（自 t = {second_from} 起）",
  "counter.converged": "全部 {replicas} 个副本自 t = {at} 起都持有准确的总数 {expected}（最后一次更新或故障后 {took}）",
  "counter.diverged": "在 t = {at}，并非所有副本都持有准确的总数 {expected}：{values}",
  "cap.linearizable": "{keys} 个键上的 {operations} 个操作存在一种线性化顺序",
  "cap.not_linearizable": "键 {key}：这 {count} 个操作无法排成任何一种既尊重实时先后、又让每次读取都读到最新写入的顺序：{operations}",
  "cap.bad_history": "{error}",
  "cap.linearizability_unknown": "无法判定：检查器在键 {key} 上用完了预算（此前 {keys} 个键中有 {decided} 个可线性化）",
  "cap.put": "{client} put({key}, {value}) [{call} – {end}]",
  "cap.get": "{client} get({key}) → {output} [{call} – {end}]",
  "cap.cas": "{client} cas({key}, {expected} → {value}) → {outcome} [{call} – {end}]",
  "cap.nothing": "无",
  "cap.never_answered": "从未得到应答",
  "cap.swapped": "已替换",
  "cap.refused": "被拒绝",
  "cap.unknown": "?",
  "cap.causal": "{operations} 个操作，没有因果异常",
  "cap.thin_air": "一次读取返回了无人写过的值：{operations}",
  "cap.cycle": "这些操作依次在因果上先于下一个，形成了环：{operations}",
  "cap.initial_after_write": "一次读取在它因果上后于的写入之后仍读到空值：{operations}",
  "cap.overwritten_read": "一次读取返回了已被它因果上后于的写入覆盖的值：{operations}",
  "cap.flip_flop": "一个客户端先读到一个值，又读到更旧的值，再读到较新的值：{operations}",
  "cap.converged": "自 t = {at} 起所有副本相同，在分区愈合和最后一次操作后 {took}",
  "cap.converged_late": "副本直到 t = {at} 才相同，超过了分区愈合和最后一次操作（{settle}）后的 {bound}",
  "cap.diverged": "运行结束时副本仍不相同",
  "cap.available": "分区期间每个请求都得到了应答：{sides}",
  "cap.unavailable": "分区期间有请求没有得到应答：{sides}",
  "cap.side_majority": "多数派 {answered}/{sent}",
  "cap.side_minority": "少数派 {answered}/{sent}",
  "cap.side_bridge": "桥接节点 {answered}/{sent}",
  "cap.side_a": "A 侧 {answered}/{sent}",
  "cap.side_b": "B 侧 {answered}/{sent}",
  "cap.side_all": "全部 {answered}/{sent}",
  "election.two_leaders": "任期 {term} 有 {count} 个领导者：{leaders}",
  "election.one_leader": "{terms} 个任期选出了领导者，从未有一个任期两个领导者",
  "election.no_successor": "领导者在 t = {crash} 崩溃，之后没有选出新的领导者（上限 {bound}）",
  "election.slow_successor": "领导者在 t = {crash} 崩溃，新的领导者 {took} 后才出现（上限 {bound}）",
  "election.failed_over": "{crashes} 次领导者崩溃，每次都在 {bound} 内选出新的领导者（最慢 {slowest}）",
  "lb.routed_up": "共路由 {routed} 个请求，没有一个发往已被其负载均衡器标记为下线的后端",
  "lb.routed_down": "{balancer} 在 t = {at} 把请求 {id} 发给了 {backend}，而它在 {since} 前已将其标记为下线",
  "lb.shares_short": "尚无在同一组后端在线期间连续 {window} 次的选择",
  "lb.shares_within": "在每个 {window} 次选择的窗口内，没有后端偏离其按权重应得份额超过 {error} 次（上限 {bound}）",
  "lb.shares_burst": "{balancer} 的一个 {window} 次选择的窗口偏离按权重的份额达 {error} 次（上限 {bound}）",
  "lb.remap_none": "尚无后端离开轮转",
  "lb.remap_within": "{backend} 离开轮转：{keys} 个键中有 {moved} 个改变了去向，其中 {forced} 个是必须改变的（上限 {bound}）",
  "lb.remap_over": "{backend} 离开轮转：{keys} 个键中有 {moved} 个改变了去向，而必须改变的只有 {forced} 个（上限 {bound}）",
  "detector.fixed_undecided": "固定超时检测器没有稳定地怀疑已崩溃的目标",
  "detector.phi_undecided": "phi 累积检测器没有稳定地怀疑已崩溃的目标",
  "detector.detected": "{fixed}；{phi}",
  "detector.fixed": "固定超时：{after} 后发现（此前误判 {false_suspicions} 次）",
  "detector.phi": "phi 累积：{after} 后发现（此前误判 {false_suspicions} 次）",
  "cache.fresh": "{reads} 次读取；{stale} 次在写入进行中短暂读到旧值，没有一次晚于 {late_ms} ms",
  "cache.stale_fill": "{reads} 次读取中有 {late} 次返回了在读取开始前 {late_ms} ms 以上就已被替换的行：一次过期回填",
  "cache.durable": "全部 {acked} 次已确认的写入都在数据库中",
  "cache.lost": "{lost} 次已确认的写入没有到达数据库，其后的写入也没有",
  "txn.down": "{services} 已宕机：无法判定",
  "txn.store_down": "存储已宕机：无法判定",
  "txn.service_down": "有服务已宕机：无法判定",
  "txn.unbalanced": "{services} 的计数不再平衡",
  "txn.conserved": "库存、资金和名额守恒",
  "txn.conserved_done": "库存、资金和名额守恒；完成 {done} 个订单",
  "txn.conserved_everywhere": "库存、资金和名额守恒；每个服务都完成了 {done} 个订单",
  "txn.disagree": "各服务对已完成订单的看法不一致：{done}",
  "txn.split": "在一个服务提交、在另一个服务中止的订单：{orders}",
  "txn.in_doubt": "仍处于不确定状态、锁未释放的订单：{orders}",
  "txn.committed": "{committed} 个订单处处提交，{aborted} 个处处中止",
  "txn.partial_unreported": "只在部分服务完成且未上报的订单：{orders}",
  "txn.all_or_nothing": "每个订单要么处处完成，要么处处未做；{reported} 个上报人工介入",
  "txn.all_ended": "全部 {orders} 个订单已完成、已回滚或已上报",
  "txn.never_finished": "{orders} 个订单中有 {unfinished} 个始终没有结束：{ids}",
  "txn.partial_confirmed": "只在部分服务确认的订单：{orders}",
  "txn.frozen": "仍有 {frozen} 个单位被冻结：订单没有结束",
  "txn.confirmed": "{confirmed} 个订单处处确认，其余处处未确认",
  "txn.log_disagrees": "服务状态与 Saga 日志不一致的订单：{orders}",
  "txn.saga_done": "{completed} 个处处完成，{rolled_back} 个处处撤销",
  "txn.all_finished": "全部 {orders} 个订单已结束",
  "txn.not_finished": "没有结束的订单：{orders}",
  "txn.outbox_delivered": "全部 {events} 个发件箱事件各被计数一次",
  "txn.outbox_behind": "{events} 个事件中计数了 {consumed} 个，发件箱中还剩 {left} 个",
  "mq.settled": "{confirmed} 条已确认消息的全部 {messages} 个副本都以确认或进入死信结束，从未两者兼有（另有 {unconfirmed} 条已发布消息被拒绝或始终未获确认）",
  "mq.unsettled": "{lost} 个已确认副本丢失，{open} 个尚未了结：{messages}",
  "mq.acked_then_dead": "已确认后又进入死信（丢失的确认导致重投）：{messages}",
  "mq.none_lost": "{confirmed} 条已确认消息无一丢失",
  "mq.lost": "{lost} 个已确认副本丢失：{messages}",
  "mq.applied_once": "{applied} 个效果各只应用一次（去重跳过了 {skipped} 次重投）",
  "mq.applied_twice": "{count} 个效果被应用了不止一次：{messages}",
  "mq.in_order": "每个分区的效果都按其顺序应用（共 {partitions} 个分区）",
  "mq.out_of_order": "在 {queue} 中，消息 {id} 在比它晚入队的 {later} 之后才被应用",
  "mq.swallowed": "发布者捕获并丢弃了 {count} 个处理器错误：无人重试，也无人知晓",
  "mq.errors_reported": "每次处理失败（共 {failures} 次）都以 nack 或超时告知了代理",
  "mq.on_time": "没有延迟消息被提前投递（共 {delayed} 条延迟消息）",
  "mq.early": "{queue} 中的消息 {id} 在延迟结束前就被投递",
  "txn.applied_twice": "效果被应用了不止一次的订单：{orders}",
  "txn.applied_uncommitted": "为从未提交的订单应用了消息：{orders}",
  "txn.never_arrived": "已提交但消息从未到达的订单：{orders}",
  "txn.applied_once": "全部 {orders} 个已提交订单各应用一次，没有其他",
};

/** A checker's message in Chinese; `null` for a code this table lacks (a test forbids it). */
export function renderZh(m: Message): string | null {
  const template = zh[m.code];
  if (template === undefined) return null;
  let missing = false;
  const text = template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const arg = m.args?.[name];
    if (arg === undefined) return whole;
    if (typeof arg === "string") return arg;
    const parts = (Array.isArray(arg) ? arg : [arg]).map((sub) => renderZh(sub));
    if (parts.some((p) => p === null)) missing = true;
    return parts.join("；");
  });
  return missing ? null : text;
}
