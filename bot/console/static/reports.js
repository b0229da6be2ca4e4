// The reports page (/console/reports): GET /api/reports/summary for a date range, each figure as an Apache ECharts
// chart (node_modules/echarts, served at /console/vendor/echarts.min.js), a table and a CSV download.
// Uses el, api, label, duration, whoAmI, PAGES and the label maps of console.js (loaded after this file).
"use strict";

const REPORT_DAYS = 30;
const INTENT_LABEL_LIMIT = 15;
const SURVEY_SOURCE = { handoff: "人工服务后", ticket: "工单解决后" };

function seconds(value) {
  return value === null || value === undefined ? "—" : duration(value);
}

function percentText(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`;
}

// Every chart of the page: a title, its columns (the first names the rows), its rows and how to draw it.
function reportCharts(report) {
  const h = report.handoffs;
  const t = report.tickets;
  const s = report.satisfaction;
  return [
    { id: "daily", title: "每日会话与消息", type: "line", columns: ["日期", "会话数", "患者消息", "机器人消息"],
      rows: report.days.map((d) => [d.day, d.conversations, d.patient_messages, d.bot_messages]) },
    { id: "intents", title: `患者意图（前 ${INTENT_LABEL_LIMIT}）`, type: "bar", columns: ["意图", "消息数"],
      rows: report.intents.map((i) => [i.intent, i.count]) },
    { id: "handoff-reasons", title: "转人工原因", type: "bar", columns: ["原因", "次数"],
      rows: h.by_reason.map((r) => [label(REASON, r.reason), r.count]) },
    { id: "handoff-waits", title: "排队等待时长（秒）", type: "bar", columns: ["优先级", "中位数", "P90", "已接手", "总数"],
      rows: h.by_priority.map((p) => [label(PRIORITY, p.priority), p.wait.median_seconds, p.wait.p90_seconds, p.claimed, p.count]),
      series: 2 },
    { id: "first-response", title: "接手后首次回复时长（秒）", type: "bar", columns: ["优先级", "中位数", "P90", "已回复", "已接手"],
      rows: h.by_priority.map((p) => [label(PRIORITY, p.priority), p.first_response.median_seconds, p.first_response.p90_seconds, p.answered, p.claimed]),
      series: 2 },
    { id: "ticket-kinds", title: "工单类型", type: "bar", columns: ["类型", "工单数"],
      rows: t.by_kind.map((k) => [label(TICKET_KIND, k.kind), k.count]) },
    { id: "ticket-categories", title: "投诉类别（整形/皮肤/口腔/其他）", type: "bar", columns: ["类别", "工单数"],
      rows: t.by_category.map((c) => [label(TICKET_CATEGORY, c.category), c.count]) },
    { id: "ticket-severity", title: "严重程度", type: "bar", columns: ["程度", "工单数"],
      rows: t.by_severity.map((s) => [label(TICKET_SEVERITY, s.severity), s.count]) },
    { id: "ticket-days", title: "每日新建与解决的工单", type: "line", columns: ["日期", "新建", "解决"],
      rows: t.per_day.map((d) => [d.day, d.opened, d.resolved]) },
    { id: "procedures", title: "工单涉及的项目", type: "bar", columns: ["项目", "工单数"],
      rows: t.by_procedure.map((p) => [p.procedure, p.count]) },
    { id: "satisfaction-scores", title: "满意度评分（5 分为非常满意）", type: "bar", columns: ["评分", "份数"],
      rows: [...s.distribution].reverse().map((d) => [`${d.score} 分`, d.count]) },
    { id: "satisfaction-days", title: "每日满意度调查", type: "line", columns: ["日期", "发出", "回复", "平均分"],
      rows: s.per_day.map((d) => [d.day, d.sent, d.answered, d.mean_score]), series: 2 },
    { id: "satisfaction-sources", title: "满意度（按来源）", type: "bar", columns: ["来源", "发出", "回复", "回复率", "平均分"],
      rows: s.by_source.map((g) => [label(SURVEY_SOURCE, g.source), g.sent, g.answered, percentText(g.response_rate), g.mean_score]),
      series: 2 },
  ];
}

function csvText(chart) {
  const cell = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\n\r]/.test(text) || /^[=+\-@]/.test(text) ? `"${text.replace(/^([=+\-@])/, "'$1").replace(/"/g, '""')}"` : text;
  };
  return `\ufeff${[chart.columns, ...chart.rows].map((row) => row.map(cell).join(",")).join("\r\n")}\r\n`;
}

function chartCard(chart, report) {
  const canvas = el("div", { class: "chart", role: "img", "aria-label": chart.title });
  const table = el(
    "table",
    { class: "queue report-table" },
    el("thead", {}, el("tr", {}, ...chart.columns.map((name) => el("th", {}, name)))),
    el("tbody", {}, ...chart.rows.map((row) => el("tr", {}, ...row.map((value) => el("td", {}, value ?? "—"))))),
  );
  const download = el("a", {
    class: "csv",
    download: `${chart.id}_${report.from}_${report.to}.csv`,
    href: URL.createObjectURL(new Blob([csvText(chart)], { type: "text/csv;charset=utf-8" })),
  }, "下载 CSV");
  const card = el("section", { class: "card report", "data-chart": chart.id },
    el("div", { class: "heading" }, el("h2", {}, chart.title), download), canvas,
    chart.rows.length ? table : el("p", { class: "empty" }, "这段时间没有数据。"));
  card.draw = () => {
    const series = chart.columns.slice(1, 1 + (chart.series || chart.columns.length - 1)).map((name, index) => ({
      name, type: chart.type, data: chart.rows.map((row) => row[index + 1]), smooth: chart.type === "line",
    }));
    const instance = echarts.init(canvas, null, { renderer: "canvas" });
    instance.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 56 },
      xAxis: { type: "category", data: chart.rows.map((row) => row[0]), axisLabel: { rotate: chart.rows.length > 8 ? 45 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series,
    });
    return instance;
  };
  return card;
}

function showTotals(report) {
  const h = report.handoffs;
  const t = report.tickets;
  const totals = [
    ["会话", report.days.reduce((sum, d) => sum + d.conversations, 0)],
    ["患者消息", report.days.reduce((sum, d) => sum + d.patient_messages, 0)],
    ["未能理解率", percentText(report.fallback.rate)],
    ["NLU 收件箱待审核", report.nlu_inbox.open],
    ["转人工", h.total],
    ["紧急情况", h.emergencies.count],
    ["紧急接手用时（中位数 / P90）", `${seconds(h.emergencies.time_to_claim.median_seconds)} / ${seconds(h.emergencies.time_to_claim.p90_seconds)}`],
    ["新建工单", t.opened],
    ["解决工单", t.resolved],
    ["解决用时（中位数 / P90）", `${seconds(t.time_to_resolution.median_seconds)} / ${seconds(t.time_to_resolution.p90_seconds)}`],
    ["满意度调查回复率", percentText(report.satisfaction.response_rate)],
    ["平均满意度", report.satisfaction.mean_score ?? "—"],
  ];
  document.getElementById("report-totals").replaceChildren(
    ...totals.map(([name, value]) => el("div", { class: "total" }, el("dt", {}, name), el("dd", { "data-total": name }, value))),
  );
}

async function reportsPage() {
  await whoAmI();
  const form = document.getElementById("report-range");
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const start = new Date(today.getTime() - (REPORT_DAYS - 1) * 86_400_000);
  const isoDay = (day) => `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
  form.elements.from.value = params.get("from") || isoDay(start);
  form.elements.to.value = params.get("to") || isoDay(today);
  let drawn = [];
  async function load() {
    const range = new URLSearchParams({ from: form.elements.from.value, to: form.elements.to.value });
    history.replaceState(null, "", `?${range}`);
    const report = await api("GET", `/api/reports/summary?${range}`);
    showTotals(report);
    for (const instance of drawn) instance.dispose();
    const cards = reportCharts(report).map((chart) => chartCard(chart, report));
    document.getElementById("report-charts").replaceChildren(...cards);
    drawn = cards.map((card) => card.draw());
    document.body.dataset.reportLoaded = `${report.from}/${report.to}`;
  }
  // One load at a time: a range asked for while one loads is loaded right after it, so the last asked wins.
  const refresh = refresher(load);
  window.addEventListener("resize", () => drawn.forEach((instance) => instance.resize()));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  PAGES.reports = reportsPage;
});
