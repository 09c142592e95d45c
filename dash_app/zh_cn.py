"""The zh-CN translations of the app's English texts (used by :mod:`dash_app.i18n`).

:data:`ZH_CN` maps an exact English text to its simplified Chinese; :data:`PATTERNS`
translates texts with numbers or names in them. City-operations terms follow the usage
of Chinese city-management centres: 工单 (cases), 班组 (crews), 派单 (dispatch), 积水
(waterlogging), 低洼点 (low points), 渣土车 (muck trucks), 预警 (alerts).
"""

from __future__ import annotations

__all__ = ["PATTERNS", "ZH_CN"]

#: English → simplified Chinese. Keys are the exact texts of the pages (stripped).
# fmt: off
ZH_CN: dict[str, str] = {
    # ------------------------------------------------------------------ the app shell
    "city-twin": "城市孪生",
    "Gongshu what-if planner": "拱墅区情景推演",
    "city-twin · what-if planner": "城市孪生 · 情景推演",
    "dismiss": "关闭",
    "No such page.": "没有这个页面。",
    "Go to the builder": "前往情景构建",
    "Something went wrong:": "出错了：",
    "Interface language": "界面语言",
    "shared by every tab": "所有标签页共用",
    # ------------------------------------------------------------------ page titles
    "Scenario builder": "情景构建",
    "Map": "地图",
    "Results": "运行结果",
    "Compare runs": "方案对比",
    "Forecasts & alerts": "预报与预警",
    "Sensor placement": "传感器布设",
    # ------------------------------------------------------------------ builder
    "Pick a scenario, change what you want to test, run it, and save it as a new YAML "
    "file. Every change is checked against the scenario schema, with the same messages "
    "as `twin run`.": "选择一个情景，修改想要检验的内容，运行它，并另存为新的 YAML 文件。"
    "每次修改都会按情景模式校验，提示信息与 `twin run` 相同。",
    "Scenario file": "情景文件",
    "Or upload a scenario YAML: drop it here or": "或上传情景 YAML：拖放到这里，或",
    "choose a file": "选择文件",
    "Check and run": "校验并运行",
    "Run scenario": "运行情景",
    "Save as a new scenario": "另存为新情景",
    "file name, e.g. my_storm_day": "文件名，例如 my_storm_day",
    "Save as YAML": "保存为 YAML",
    "No scenarios found.": "没有找到情景文件。",
    "Valid scenario": "情景有效",
    "(marked next to the field)": "（已在对应字段旁标出）",
    "Not run: fix the marked fields first.": "未运行：请先修正标出的字段。",
    "Not saved: fix the marked fields first.": "未保存：请先修正标出的字段。",
    "Finished": "已完成",
    "yes": "是",
    # field groups
    "Scenario": "情景",
    "Cases": "工单",
    "Fleet and operations centre": "班组与指挥中心",
    "Dispatch": "派单",
    "Service targets": "服务时限",
    "Storm": "降雨",
    "Waterlogging": "积水",
    "Muck trucks": "渣土车",
    "Crowd events": "人群活动",
    # fields
    "Name": "名称",
    "Seed": "随机种子",
    "Start (local time)": "开始时间（当地时间）",
    "Horizon": "模拟时长",
    "Road network": "路网",
    "Cases per day": "每日工单数",
    "Hot spots": "热点数",
    "Share in hot spots": "热点工单占比",
    "Crew members": "班组人数",
    "Crew speed factor": "班组速度系数",
    "Operators": "接线员",
    "Inspectors": "巡查员",
    "Dispatch policy": "调度策略",
    "Zone size [m]": "分区大小 [m]",
    "Crews compared": "比选班组数",
    "Reposition every": "重新布点间隔",
    "Dispatch within": "派单时限",
    "Arrive within": "到场时限",
    "Resolve within": "办结时限",
    "Rain": "降雨类型",
    "Rain starts after": "降雨开始于",
    "Return period [years]": "重现期 [年]",
    "Storm duration": "降雨历时",
    "Catalogue event": "历史暴雨事件",
    "Radar event": "雷达降雨事件",
    "Rain multiplier": "雨量倍数",
    "Traffic impeded from [m]": "交通受阻水深 [m]",
    "Road closed from [m]": "道路封闭水深 [m]",
    "Muck trucks on": "启用渣土车",
    "Truck trips per day": "每日渣土车趟次",
    "Trucks in the fleet": "渣土车数量",
    "Site working hours": "工地作业时段",
    "Attendance": "参与人数",
    "Share by metro": "地铁到达占比",
    "Alert density [persons/m²]": "预警密度 [人/m²]",
    "Crews per alert": "每次预警出动班组数",
    # hints
    "seconds, or e.g. 45s, 5min, 2h": "秒数，或如 45s、5min、2h",
    "whole number": "整数",
    "number": "数值",
    "YYYY-MM-DDTHH:MM:SS": "YYYY-MM-DDTHH:MM:SS",
    "hours HH:MM-HH:MM, e.g. 20:00-06:00 for the night": "时段 HH:MM-HH:MM，夜间如 20:00-06:00",
    # rain kinds and policies (menu options)
    "none": "无降雨（none）",
    "design_storm": "设计暴雨（design_storm）",
    "event": "历史暴雨目录（event）",
    "file": "雨量文件（file）",
    "radar": "雷达降雨（radar）",
    "nearest_idle": "就近空闲派单（nearest_idle）",
    "fixed_zones": "固定分区派单（fixed_zones）",
    "priority_preemption": "优先级抢占（priority_preemption）",
    "workload_balancing": "工作量均衡（workload_balancing）",
    "prepositioning": "预先布点（prepositioning）",
    # the crowd-event form
    "Add a crowd event": "添加人群活动",
    "Plaza": "广场",
    "Event start (local time)": "活动开始（当地时间）",
    "Duration": "持续时间",
    "Attendance [people]": "参与人数 [人]",
    "Add crowd event": "添加活动",
    "Remove added events": "移除已添加的活动",
    "Events added here (run with the scenario):": "在此添加的活动（随情景一起运行）：",
    "pick a plaza": "选择广场",
    "Pick a plaza.": "请选择广场。",
    "people": "人",
    "Event added.": "活动已添加。",
    "Not added: fix the marked fields first.": "未添加：请先修正标出的字段。",
    "Pick a storm from the catalogue, a design storm or a radar event under Storm.":
        "在“降雨”中选择历史暴雨、设计暴雨或雷达降雨事件。",
    # ------------------------------------------------------------------ progress
    "The run failed:": "运行失败：",
    "no reason given": "未给出原因",
    # ------------------------------------------------------------------ results
    "The headline numbers and time series of a run. Runs are made in the builder; the "
    "newest is shown when it finishes.": "一次运行的关键指标和时间序列。运行在情景构建页发起；"
    "最新的一次运行完成后在此显示。",
    "Run": "运行",
    "no runs yet: run a scenario in the builder": "还没有运行：请在情景构建页运行一个情景",
    "a new name for this run": "为这次运行起个新名字",
    "Rename": "重命名",
    "Delete run": "删除运行",
    "No run yet.": "还没有运行。",
    "Build and run a scenario": "构建并运行一个情景",
    "first.": "。",
    "Open cases and crews over time": "未结工单与班组随时间变化",
    "Time from report to dispatch, arrival and resolution": "从上报到派单、到场和办结的用时",
    "Rain and water at the low points": "降雨与低洼点积水",
    "Crowds at the plazas": "广场人群",
    "Muck trucks on the road": "在途渣土车",
    "All KPIs": "全部指标",
    "Files of this run": "本次运行的文件",
    "scenario": "情景",
    "start": "开始时间",
    "horizon": "模拟时长",
    "seed": "随机种子",
    "dispatch policy": "调度策略",
    "crews": "班组",
    "rain": "降雨",
    "wall time": "计算用时",
    "crowd events": "人群活动",
    "muck trucks": "渣土车",
    "The run library is shared by every browser tab and every user of this server: runs "
    "started elsewhere appear here too, and renaming or deleting a run changes it for "
    "everyone.": "运行库由本服务器的所有浏览器标签页和所有用户共用："
    "在别处发起的运行也会出现在这里，重命名或删除一次运行对所有人生效。",
    "Shared run library": "共用运行库",
    # KPI cards and table
    "cases reported": "上报工单",
    "cases closed": "办结工单",
    "crew utilisation": "班组利用率",
    "busy (travel + work) / on duty": "忙碌（途中 + 作业）/ 在岗",
    "mean backlog [cases]": "平均积压 [件]",
    "escalations": "升级次数",
    "rain fallen": "累计降雨",
    "low points closed": "封闭的低洼点",
    "crews rerouted": "班组绕行次数",
    "crowd alerts": "人群预警",
    "plaza-minutes over the alert density": "超过预警密度的广场·分钟",
    "muck trips unloaded": "渣土车完成卸土趟次",
    "truck violations detected": "查获渣土车违规",
    "dispatched within target": "按时派单",
    "arrived within target": "按时到场",
    "resolved within target": "按时办结",
    "KPI": "指标",
    "value": "数值",
    "unit": "单位",
    "description": "说明",
    # ------------------------------------------------------------------ compare
    "Two runs side by side, with the difference of every KPI; then both scenarios "
    "replicated over common random numbers for confidence intervals.": "两次运行并排对比，"
    "列出每项指标的差值；再用公共随机数对两个情景做重复运行，给出置信区间。",
    "Run A (baseline)": "运行 A（基准）",
    "Run B": "运行 B",
    "Confidence intervals by replication": "重复运行的置信区间",
    "Replications": "重复次数",
    "Confidence": "置信水平",
    "Run replications": "运行重复实验",
    "Side by side": "并排对比",
    "Over time": "随时间变化",
    "change": "变化",
    "input": "输入",
    "Two finished runs are needed.": "需要两次已完成的运行。",
    "Run scenarios in the builder": "在情景构建页运行情景",
    "A and B are the same run: pick another run for B.":
        "A 和 B 是同一次运行：请为 B 选择另一次运行。",
    "A and B ran the same inputs (only the random cases can differ).":
        "A 和 B 的输入相同（只有随机生成的工单可能不同）。",
    "Pick two finished runs first.": "请先选择两次已完成的运行。",
    "Replications: give a whole number from 2 to 30.": "重复次数：请填写 2 到 30 之间的整数。",
    "The replications failed:": "重复运行失败：",
    # ------------------------------------------------------------------ forecasts
    "The waterlogging forecasters from models/ replayed over a run with rain: at each "
    "5-minute issue time they see only the gauge readings and rain so far. Alerts follow "
    "the CAP 1.2 lifecycle (Alert, Update, Cancel).": "用 models/ 中的积水预报模型回放一次"
    "有降雨的运行：每 5 分钟发布一次预报，只使用截至当时的水位计读数和降雨。预警遵循 CAP 1.2 "
    "生命周期（发布、更新、解除）。",
    "Run with rain": "有降雨的运行",
    "Forecaster": "预报模型",
    "N-HiTS (shipped default)": "N-HiTS（默认模型）",
    "rain-aware linear": "考虑降雨的线性模型",
    "SARIMAX": "SARIMAX",
    "persistence": "持续性预报",
    "Rain ahead": "未来降雨",
    "rain ahead: persistence of the last hour (no oracle)": "未来降雨：沿用过去一小时（非先知）",
    "rain ahead: the run's own rain (oracle)": "未来降雨：本次运行的实际降雨（先知）",
    "Replay forecasts": "回放预报",
    "Low point": "低洼点",
    "Issue time": "发布时间",
    "Alert timeline": "预警时间线",
    "run a scenario with rain first": "请先运行一个有降雨的情景",
    "Run a scenario with rain first (e.g. gongshu_rainstorm.yaml).":
        "请先运行一个有降雨的情景（例如 gongshu_rainstorm.yaml）。",
    "The replay failed:": "回放失败：",
    "Alert": "发布",
    "Update": "更新",
    "Cancel": "解除",
    # ------------------------------------------------------------------ placement
    "Where to put a budget of water-level gauges at the low points. The twin simulates "
    "storms at every low point (real catalogue events and design storms); a gauge detects "
    "ponding at its own point at once, and a crew it alarms checks the points nearby. "
    "Choices are made on training storms and scored again on held-out storms.":
        "在给定预算下，把水位计布设在哪些低洼点。孪生模型在每个低洼点模拟降雨（历史暴雨与设计暴雨）；"
    "水位计能立即发现所在点的积水，其报警的班组会顺带查看附近的点。布设方案在训练暴雨上选出，"
    "再在留出的暴雨上重新评分。",
    "Thresholds and storms of": "阈值与降雨取自",
    "Catalogue storms": "历史暴雨场次",
    "50 per ensemble": "每组 50 场",
    "100 per ensemble": "每组 100 场",
    "200 per ensemble": "每组 200 场",
    "real storms sampled from the catalogue for training and for the held-out check "
    "(design storms come on top); more is slower": "从暴雨目录中抽取用于训练和留出检验的真实暴雨"
    "（另加设计暴雨）；越多越慢",
    "Build the storm ensemble": "生成暴雨集合",
    "Budget [gauges]": "预算 [水位计个数]",
    "Objective": "目标",
    "least undetected impact (km·h of impeded road)": "未发现影响最小（受阻道路 km·h）",
    "most onsets detected (coverage)": "发现积水起始最多（覆盖率）",
    "earliest detection (mean time)": "发现最早（平均时间）",
    "Pick a scenario first.": "请先选择一个情景。",
    "Could not build the ensemble:": "无法生成暴雨集合：",
    # ------------------------------------------------------------------ map (labels only)
    "The Gongshu road network drawn from its own OpenStreetMap geometry (no map tiles, "
    "works offline), its city layers, and a run replayed over time: crews by status, cases "
    "by stage, water at the low points, closed roads.": "拱墅区路网按 OpenStreetMap 几何绘制"
    "（无需地图瓦片，可离线使用），叠加城市图层，并按时间回放一次运行：班组状态、工单阶段、"
    "低洼点积水和封闭道路。",
    "Layers": "图层",
    "cases": "工单",
    "water and closures": "积水与封路",
    "crowd density": "人群密度",
    "city layers": "城市图层",
    "local roads": "支路",
    "▶ Play": "▶ 播放",
    "Click a crew, a case, a low point or a truck.": "点击班组、工单、低洼点或渣土车。",
    "Nothing to show for that point.": "该点没有可显示的信息。",
    # ------------------------------------------------------------------ figures
    "replay forecasts first": "请先回放预报",
    "no alerts yet": "尚无预警",
    "no alerts were issued in this run": "本次运行没有发布预警",
    "build the storm ensemble first": "请先生成暴雨集合",
    "the coverage curve appears here": "覆盖率曲线将显示在这里",
    "no differences to show": "没有可显示的差异",
    "open cases [cases]": "未结工单 [件]",
    "crews [crews]": "班组 [个]",
    "crews travelling or working [crews]": "途中或作业的班组 [个]",
    "open cases (backlog)": "未结工单（积压）",
    "waiting for dispatch": "待派单",
    "in verification": "核查中",
    "working": "作业中",
    "travelling": "途中",
    "idle / repositioning": "空闲 / 重新布点",
    "on duty": "在岗",
    "time to dispatch [min]": "派单用时 [min]",
    "time to arrive [min]": "到场用时 [min]",
    "time to resolve [min]": "办结用时 [min]",
    "hours since start [h]": "开始后小时数 [h]",
}
# fmt: on

#: Texts with numbers or names in them: (regular expression, zh-CN template). ``{0}``,
#: ``{1}`` … are the captured groups, each translated when :data:`ZH_CN` has it.
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(\d+) problems? to fix$", "{0} 个问题待修正"),
    (r"^· (\d+) field\(s\) changed$", "· 已修改 {0} 个字段"),
    (r"^Valid scenario · (\d+) field\(s\) changed$", "情景有效 · 已修改 {0} 个字段"),
    (r"^(\d+) runs? · shared by every tab$", "{0} 次运行 · 所有标签页共用"),
    (
        r"^(\d+) jobs? in progress · (\d+) runs? · shared by every tab$",
        "{0} 个任务进行中 · {1} 次运行 · 所有标签页共用",
    ),
    (r"^Queued (.+)$", "已排队：{0}"),
    (r"^(.+): (.+) \((\d+)% of horizon\)$", "{0}：{1}（已完成 {2}%）"),
    (r"^(.+) in ([\d.]+) s\.$", "{0}，用时 {1} 秒。"),
    (r"^Finished (.+) in ([\d.]+) s\.$", "已完成 {0}，用时 {1} 秒。"),
    (r"^Inputs that differ \((\d+)\)$", "不同的输入（{0}）"),
    (r"^A: mean \[(\d+)% CI\]$", "A：均值 [{0}% 置信区间]"),
    (r"^B: mean \[(\d+)% CI\]$", "B：均值 [{0}% 置信区间]"),
    (r"^B − A paired \[(\d+)% CI\]$", "B − A 配对 [{0}% 置信区间]"),
    (r"^Case (.+)$", "工单 {0}"),
    (r"^Crew (.+)$", "班组 {0}"),
    (r"^Truck (.+)$", "渣土车 {0}"),
    (r"^(\d+)× speed$", "{0}× 速度"),
    (r"^([\d.]+)× speed$", "{0}× 速度"),
    (r"^mean (.+)$", "平均 {0}"),
    (r"^p90 (.+)$", "90 分位 {0}"),
    (r"^max (.+)$", "最大 {0}"),
    (r"^deepest water ([\d.]+) m$", "最大水深 {0} m"),
    (r"^All ([\d,]+) alert messages?$", "全部 {0} 条预警消息"),
    (r"^(.+) \((.+)\)$", "{0}（{1}）"),
    (r"^Saved (.+)\. Run it with: (.+)$", "已保存 {0}。运行命令：{1}"),
    (r"^(.+) already exists; choose another name\.$", "{0} 已存在，请换一个名字。"),
    (r"^Uploaded as (.+)\.$", "已上传为 {0}。"),
    (r"^([\d,.]+(?: ?%)?|–) still open at the end$", "结束时仍有 {0} 件未办结"),
    (r"^([\d,.]+(?: ?%)?|–) of reported$", "占上报的 {0}"),
    (r"^dispatch within (.+)$", "{0} 内派单"),
    (r"^arrive within (.+)$", "{0} 内到场"),
    (r"^resolve within (.+)$", "{0} 内办结"),
    (r"^L(\d+): ([\d,.]+(?: ?%)?|–)$", "L{0}：{1}"),
    (r"^([\d,.]+(?: ?%)?|–) without staff$", "无人员值守 {0}"),
    (r"^of ([\d,.]+(?: ?%)?|–) started$", "共发车 {0}"),
    (r"^([\d,.]+(?: ?%)?|–) dumped$", "偷倒 {0}"),
    (r"^of ([\d,.]+(?: ?%)?|–)$", "共 {0}"),
    (r"^([\d,.]+(?: ?%)?|–) traced$", "溯源 {0}"),
    (r"^([\d,.]+(?: ?%)?|–) cases$", "{0} 件工单"),
    (r"^([\d,.]+(?: ?%)?|–) impeded$", "受阻 {0}"),
    (r"^([\d.]+) point-hours closed$", "封闭 {0} 点·小时"),
    (r"^([\d,.]+(?: ?%)?|–) ponding cases$", "积水工单 {0} 件"),
    (r"^([\d,.]+(?: ?%)?|–) crowd-control cases$", "人群管控工单 {0} 件"),
    (r"^catalogue storm (\S+)$", "历史暴雨 {0}"),
    (r"^radar storm (\S+) \(transposed\)$", "雷达降雨 {0}（移置）"),
    (r"^design storm, ([\d.]+)-year, (.+)$", "设计暴雨，{0} 年一遇，历时 {1}"),
    (r"^on: ([\d,]+) trucks, sites open (\S+)$", "启用：{0} 辆，工地作业时段 {1}"),
    (r"^on: ([\d,]+) trucks$", "启用：{0} 辆"),
    (r"^([\d.]+) (s|min|h|d)$", "{0} {1}"),
    (r"^Something went wrong: (.+)$", "出错了：{0}"),
    (r"^local time \((.+)\)$", "当地时间（{0}）"),
    (r"^min \((\d+) never got there\)$", "min（{0} 件未到达）"),
    (r"^(\S+) (<|≤) value (<|≤) (\S+)$", "{0} {1} 取值 {2} {3}"),
)

#: The schema's (pydantic's) messages next to a field, e.g. ``Input should be greater
#: than 0 (got -3)``.
_CHECKS = (
    ("greater than or equal to", "应大于或等于"),
    ("greater than", "应大于"),
    ("less than or equal to", "应小于或等于"),
    ("less than", "应小于"),
)
_SCHEMA_MESSAGES: tuple[tuple[str, str], ...] = (
    *(
        item
        for words, zh in _CHECKS
        for item in (
            (rf"^Input should be {words} (\S+) \(the field is empty\)$", zh + " {0}（字段为空）"),
            (rf"^Input should be {words} (\S+) \(got (.+)\)$", zh + " {0}（当前为 {1}）"),
        )
    ),
    (r"^Input should be a valid number.* \(got (.+)\)$", "应为数值（当前为 {0}）"),
    (r"^Input should be a valid integer.* \(got (.+)\)$", "应为整数（当前为 {0}）"),
    (r"^Field required.*$", "必填字段"),
)
PATTERNS = (*PATTERNS, *_SCHEMA_MESSAGES)
