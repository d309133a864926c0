// 46.1.1 the consistent-hashing ring view. The Chinese table is typed against the English keys: a key missing in one
// language fails `tsc`.

export const en = {
  "ring.title": "Consistent hashing",
  "ring.intro": "Each node sits at many points of a circle of MD5 values (virtual nodes); a key belongs to the first point at or after its own hash. Add or remove a node and watch how few keys move, compared with hash % N.",
  "ring.vnodes": "Virtual nodes per node",
  "ring.replicas": "Replicas per key",
  "ring.nodes": "Nodes",
  "ring.weight": "weight",
  "ring.remove": "Remove",
  "ring.add": "Add a node",
  "ring.points": "points",
  "ring.load": "Keys per node",
  "ring.balance": "Standard deviation {sd} ({pct}% of the mean), busiest node {max}× the mean",
  "ring.moved": "Last change ({change}): the ring moved {ring}% of the keys (ideal {ideal}%); jump hash {jump}%, rendezvous {rendezvous}%, hash % N {modulo}%.",
  "ring.movedNone": "Change the ring to see how many keys move.",
  "ring.hover": "Hover over the ring to see a key's owners.",
  "ring.owner": "{key} → {owners}",
  "ring.wrong": "What the chapter gets wrong: its get_node sorts the whole ring on every lookup (O(V log V) per key). Here positions stay sorted and a lookup is a binary search (O(log V)).",
};

export const zh: Record<keyof typeof en, string> = {
  "ring.title": "一致性哈希",
  "ring.intro": "每个节点位于 MD5 值构成的圆环上的多个位置（虚拟节点）；键属于其哈希值之后（含相等）的第一个位置。添加或移除节点，观察与 hash % N 相比，只有很少的键发生迁移。",
  "ring.vnodes": "每个节点的虚拟节点数",
  "ring.replicas": "每个键的副本数",
  "ring.nodes": "节点",
  "ring.weight": "权重",
  "ring.remove": "移除",
  "ring.add": "添加节点",
  "ring.points": "个位置",
  "ring.load": "各节点的键数",
  "ring.balance": "标准差 {sd}（均值的 {pct}%），最忙节点为均值的 {max} 倍",
  "ring.moved": "上次变更（{change}）：哈希环迁移了 {ring}% 的键（理想值 {ideal}%）；跳跃哈希 {jump}%，会合哈希 {rendezvous}%，hash % N {modulo}%。",
  "ring.movedNone": "修改哈希环，查看有多少键发生迁移。",
  "ring.hover": "将鼠标移到圆环上，查看某个键的归属节点。",
  "ring.owner": "{key} → {owners}",
  "ring.wrong": "本章代码的问题：get_node 每次查找都对整个环排序（每个键 O(V log V)）。这里位置始终保持有序，查找是二分搜索（O(log V)）。",
};
