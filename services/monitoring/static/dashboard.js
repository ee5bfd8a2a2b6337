// The officials' dashboard: figures from monitoring's JSON API (/v1/stats/..., /v1/agreements), asked with the
// bearer token the viewer enters (kept in sessionStorage for this tab only, never put in an address) and charted
// with plotly.js from this host. Plain JavaScript, nothing loaded from outside; all text goes in through
// textContent. A count may be "<5" (fewer than five people): it is shown as "<5" and charted as 0 labelled "<5".
"use strict";

(() => {
  const TOKEN_KEY = "eastwest.dashboard.token";
  const SMALL = "<5";
  const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  const COLORS = { brand: "#1d4f91", light: "#9bb8e0", ink: "#1b2433", grid: "#e8edf4" };
  const TARGETS = [
    ["employed", "来苏就业"],
    ["trained", "培训"],
    ["carried", "直通车运送"],
  ];
  const RETENTION = [
    ["retained_3_months", "3 个月"],
    ["retained_6_months", "6 个月"],
    ["retained_12_months", "12 个月"],
  ];

  let generation = 0; // each query's number: an answer to an older one, or from before signing out, is dropped

  const $ = (id) => document.getElementById(id);
  const font = getComputedStyle(document.documentElement).fontFamily;

  // --- figures and months ----------------------------------------------------------------------------------

  const plotted = (count) => (typeof count === "number" ? count : 0);
  const shown = (count) =>
    count === null || count === undefined ? "—" : count === SMALL ? SMALL : Number(count).toLocaleString("zh-CN");
  const percent = (share) => (share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)}%`);

  function thisMonth() {
    // the figures' calendar is Beijing's, wherever the viewer is
    const parts = new Intl.DateTimeFormat("en", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
      .formatToParts(new Date());
    const part = (type) => parts.find((item) => item.type === type).value;
    return `${part("year")}-${part("month")}`;
  }

  function shiftMonth(month, months) {
    const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + months;
    return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
  }

  const monthName = (month) => `${month.slice(0, 4)} 年 ${Number(month.slice(5, 7))} 月`;

  // --- messages, signing in and out ------------------------------------------------------------------------

  function notify(text) {
    $("notice").textContent = text;
    $("notice").hidden = !text;
  }

  const setStatus = (text) => ($("status").textContent = text);
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

  function showBoard(signedIn) {
    $("sign-in").hidden = signedIn;
    $("board").hidden = !signedIn;
    $("sign-out").hidden = !signedIn;
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    generation += 1; // an answer still on its way is not shown
    showBoard(false);
    clearBoard();
    $("scope").textContent = "请先登录";
    $("as-of").textContent = "";
    setStatus("");
    notify(message);
    $("token").focus();
  }

  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim().replace(/^Bearer\s+/i, "");
    $("token").value = "";
    if (!value) {
      notify("请输入访问令牌。");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    notify("");
    showBoard(true);
    load();
  });

  $("sign-out").addEventListener("click", () => signOut("已退出登录。"));

  // --- the API ---------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function problemText(response) {
    try {
      const problem = await response.json();
      const messages = (problem.errors || []).map((error) => error.message).filter(Boolean);
      return messages.length ? messages.join("；") : problem.detail || problem.title || "";
    } catch {
      return "";
    }
  }

  async function call(path, params, accept = "application/json") {
    const query = params ? params.toString() : "";
    const response = await fetch(query ? `${path}?${query}` : path, {
      headers: { Accept: `${accept}, application/problem+json`, Authorization: `Bearer ${token()}` },
      cache: "no-store",
    });
    if (!response.ok) throw new ApiError(response.status, await problemText(response));
    return response;
  }

  const getJSON = async (path, params) => (await call(path, params)).json();

  function failed(error, notFound) {
    if (error instanceof ApiError && error.status === 401) {
      signOut("登录已失效或访问令牌无效，请重新登录。");
    } else if (error instanceof ApiError && error.status === 403) {
      signOut("此账号无权查看监测数据（限管理员、协作省份、联络站和江苏设区市人社部门的账号），请换用有权限的访问令牌登录。");
    } else if (error instanceof ApiError && error.status === 404) {
      notify(notFound || error.message || "所选范围不在您的查看权限内。");
    } else if (error instanceof ApiError && error.status === 422) {
      notify(`查询条件有误：${error.message || "请检查所选月份"}`);
    } else if (error instanceof ApiError && error.status === 503) {
      notify("服务暂时不可用，请稍后重试。");
    } else if (error instanceof ApiError) {
      notify(`查询失败（${error.status}）${error.message ? `：${error.message}` : ""}`);
    } else {
      notify("无法连接服务器，请检查网络后重试。");
    }
  }

  // --- filters ---------------------------------------------------------------------------------------------

  function filters() {
    const params = new URLSearchParams();
    const fields = { from: "filter-from", to: "filter-to", province_code: "filter-province", city_code: "filter-city" };
    for (const [name, id] of Object.entries(fields)) {
      if ($(id).value) params.set(name, $(id).value);
    }
    return params;
  }

  function withParams(base, extra) {
    const params = new URLSearchParams(base);
    for (const [name, value] of Object.entries(extra)) params.set(name, value);
    return params;
  }

  function addOptions(id, choices) {
    const select = $(id);
    for (const choice of choices) select.append(new Option(choice.name, choice.code));
  }

  async function loadRegions() {
    try {
      const response = await fetch("/dashboard/regions.json", { headers: { Accept: "application/json" } });
      const regions = await response.json();
      addOptions("filter-province", regions.provinces);
      addOptions("filter-city", regions.jiangsu_cities);
    } catch {
      // the filters stay at 全部
    }
  }

  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });

  // --- charts ----------------------------------------------------------------------------------------------

  const CONFIG = { displayModeBar: false, responsive: true };

  function layout(extra) {
    return {
      font: { family: font, size: 13, color: COLORS.ink },
      margin: { l: 56, r: 16, t: 16, b: 48 },
      paper_bgcolor: "#fff",
      plot_bgcolor: "#fff",
      showlegend: false,
      ...extra,
    };
  }

  function countAxis(values) {
    const axis = { rangemode: "tozero", tickformat: ",d", gridcolor: COLORS.grid, automargin: true };
    if (Math.max(0, ...values) < 5) axis.dtick = 1;
    return axis;
  }

  function draw(id, traces, extra) {
    const element = $(id);
    element.querySelector(":scope > .empty")?.remove();
    Plotly.react(element, traces, layout(extra), CONFIG);
  }

  function nothing(id, text) {
    const element = $(id);
    Plotly.purge(element);
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = text;
    element.replaceChildren(empty);
  }

  function barChart(id, cells) {
    if (!cells.length) return nothing(id, "统计日没有在岗人员");
    const values = cells.map((cell) => plotted(cell.count));
    draw(
      id,
      [
        {
          type: "bar",
          x: cells.map((cell) => cell.label),
          y: values,
          text: cells.map((cell) => shown(cell.count)),
          textposition: "outside",
          cliponaxis: false,
          marker: { color: COLORS.brand },
          hovertemplate: "%{x}：%{text} 人<extra></extra>",
        },
      ],
      { xaxis: { type: "category", automargin: true }, yaxis: countAxis(values) },
    );
  }

  function trendChart(series) {
    const months = series.map((point) => point.month);
    const started = series.map((point) => plotted(point.started));
    const employed = series.map((point) => (typeof point.employed === "number" ? point.employed : null));
    const small = series.filter((point) => point.employed === SMALL);
    draw(
      "chart-trend",
      [
        {
          type: "bar",
          name: "当月新增",
          x: months,
          y: started,
          // where the month's stock is "<5" too, its marker's label says it for both (hover tells them apart)
          text: series.map((point) => (point.started === SMALL && point.employed !== SMALL ? SMALL : "")),
          textposition: "outside",
          customdata: series.map((point) => shown(point.started)),
          marker: { color: COLORS.light },
          hovertemplate: "%{x} 当月新增：%{customdata} 人<extra></extra>",
        },
        {
          type: "scatter",
          mode: "lines+markers",
          name: "月末在岗",
          x: months,
          y: employed,
          connectgaps: false,
          line: { color: COLORS.brand, width: 3 },
          hovertemplate: "%{x} 月末在岗：%{y:,} 人<extra></extra>",
        },
        {
          type: "scatter",
          mode: "markers+text",
          name: "月末在岗少于 5 人",
          x: small.map((point) => point.month),
          y: small.map(() => 0),
          text: small.map(() => SMALL),
          textposition: "top center",
          marker: { color: COLORS.brand, symbol: "circle-open", size: 9 },
          hovertemplate: "%{x} 月末在岗：%{text} 人<extra></extra>",
          showlegend: false,
        },
      ],
      {
        showlegend: true,
        legend: { orientation: "h", x: 0, y: 1.12 },
        margin: { l: 56, r: 16, t: 36, b: 40 },
        xaxis: { type: "category" },
        yaxis: countAxis([...started, ...employed.filter((value) => value !== null)]),
      },
    );
  }

  function funnelChart(steps) {
    draw(
      "chart-funnel",
      [
        {
          type: "funnel",
          y: steps.map((step) => step.label),
          x: steps.map((step) => plotted(step.count)),
          text: steps.map((step) => shown(step.count)),
          texttemplate: "%{text}",
          textposition: "outside",
          marker: { color: COLORS.brand },
          connector: { fillcolor: COLORS.grid },
          hovertemplate: "%{y}：%{text} 人<extra></extra>",
        },
      ],
      { margin: { l: 96, r: 48, t: 16, b: 24 }, yaxis: { type: "category", automargin: true } },
    );
  }

  function retentionChart(cohorts) {
    const known = cohorts.some((cohort) => RETENTION.some(([key]) => cohort[key] !== null));
    if (!known) return nothing("chart-retention", "暂无可计算的批次（未满期限，或人数少于 5）");
    const cell = (cohort, key) => (cohort[key] === null ? "" : percent(cohort[key]));
    draw(
      "chart-retention",
      [
        {
          type: "heatmap",
          x: RETENTION.map(([, label]) => label),
          y: cohorts.map((cohort) => cohort.month),
          z: cohorts.map((cohort) => RETENTION.map(([key]) => cohort[key])),
          text: cohorts.map((cohort) => RETENTION.map(([key]) => cell(cohort, key))),
          customdata: cohorts.map((cohort) => RETENTION.map(() => shown(cohort.placed))),
          texttemplate: "%{text}",
          hovertemplate: "%{y} 上岗（%{customdata} 人）：%{x}后仍在岗 %{text}<extra></extra>",
          hoverongaps: false,
          zmin: 0,
          zmax: 1,
          colorscale: [
            [0, "#c8281e"],
            [0.6, "#f3d36b"],
            [1, "#1f8a4c"],
          ],
          showscale: false, // a colour bar would set a style attribute, which the page's policy refuses
          // gaps between the cells also keep plotly.js off its "fast" drawing, which sets a style attribute too
          xgap: 2,
          ygap: 2,
        },
      ],
      {
        margin: { l: 72, r: 16, t: 28, b: 8 },
        xaxis: { type: "category", side: "top", fixedrange: true },
        yaxis: { type: "category", autorange: "reversed", automargin: true, fixedrange: true },
      },
    );
  }

  // --- tiles, agreements -----------------------------------------------------------------------------------

  function tile(id, value, note, label) {
    const element = $(id);
    element.querySelector(".value").textContent = value;
    element.querySelector(".note").textContent = note || "";
    if (label) element.querySelector(".label").textContent = label;
  }

  function tiles(byWhere, retention, training, bus, warnings) {
    const jiangsu = byWhere.breakdown.find((cell) => cell.key === "jiangsu");
    tile("tile-jiangsu", shown(jiangsu ? jiangsu.count : 0), `统计日 ${byWhere.on}`);
    const current = thisMonth();
    const point = byWhere.series.find((item) => item.month === current) || byWhere.series.at(-1);
    if (point) {
      const label = point.month === current ? "本月新增" : `${monthName(point.month)}新增`;
      tile("tile-started", shown(point.started), `${monthName(point.month)}开始就业`, label);
    }
    const cohort = [...retention.cohorts].reverse().find((item) => item.retained_3_months !== null);
    tile(
      "tile-retention",
      percent(cohort ? cohort.retained_3_months : null),
      cohort ? `${monthName(cohort.month)}上岗批次（${shown(cohort.placed)} 人）` : "暂无已满 3 个月的批次",
    );
    tile("tile-training", percent(training.employment_rate), `结业 ${shown(training.completed)} 人`);
    tile("tile-bus", shown(bus.carried), `发车 ${bus.trips} 班次`);
    tile("tile-warnings", shown(warnings.open), `逾期未回访 ${shown(warnings.follow_ups_overdue)} 次`);
  }

  function targetRow(key, name, figures) {
    const row = $("target-template").content.firstElementChild.cloneNode(true);
    row.dataset.target = key;
    row.querySelector(".name").textContent = name;
    const done = figures.share === null ? 0 : Math.min(figures.share, 1);
    const bar = row.querySelector(".bar");
    bar.setAttribute("aria-valuenow", String(Math.round(done * 100)));
    bar.setAttribute("aria-label", `${name}完成比例`);
    row.querySelector(".fill").style.width = `${done * 100}%`;
    const expected = row.querySelector(".expected");
    expected.hidden = !figures.target; // no target, no pace to keep
    const pace = figures.target ? Math.min(figures.expected_by_now / figures.target, 1) * 100 : 0;
    expected.style.left = `calc(${pace}% - ${pace / 50}px)`; // the 2px line stays inside the bar at 100%
    expected.title = `按时间进度应完成 ${shown(figures.expected_by_now)}`;
    row.querySelector(".figures").textContent =
      `${shown(figures.actual)} / ${shown(figures.target)}（${percent(figures.share)}）`;
    const onTrack = row.querySelector(".pace");
    const [text, state] =
      figures.on_track === null ? ["人数少于 5", "unknown"] : figures.on_track ? ["达到时间进度", "on-track"] : ["落后于时间进度", "behind"];
    onTrack.textContent = text;
    onTrack.className = `pace ${state}`;
    onTrack.title = `按时间进度应完成 ${shown(figures.expected_by_now)}`;
    return row;
  }

  function agreements(progress, year) {
    $("agreements-year").textContent = `${year} 年度合作框架协议：完成数 / 年度目标；竖线为按时间进度应完成的位置`;
    const list = $("agreements");
    list.replaceChildren();
    if (!progress.length) {
      const empty = document.createElement("p");
      empty.className = "agreements-empty";
      empty.textContent = `${year} 年度没有您可查看的合作框架协议。`;
      list.append(empty);
      return;
    }
    for (const item of progress) {
      const element = $("agreement-template").content.firstElementChild.cloneNode(true);
      element.dataset.agreementId = item.agreement.id;
      element.querySelector(".title").textContent = item.agreement.title;
      element.querySelector(".parties").textContent =
        `江苏${item.agreement.jiangsu_city} · ${item.agreement.partner_region} · 年度时间进度 ${percent(item.year_elapsed)}（截至 ${item.on}）`;
      const targets = element.querySelector(".targets");
      for (const [key, name] of TARGETS) targets.append(targetRow(key, name, item[key]));
      list.append(element);
    }
  }

  // --- loading ---------------------------------------------------------------------------------------------

  async function load() {
    const mine = ++generation;
    const base = filters();
    const year = ($("filter-to").value || thisMonth()).slice(0, 4);
    setStatus("正在加载…");
    $("filter-submit").disabled = true;
    try {
      const [byProvince, byCity, byWhere, retention, funnel, training, bus, warnings, listed] = await Promise.all([
        getJSON("/v1/stats/employment", withParams(base, { by: "province" })),
        getJSON("/v1/stats/employment", withParams(base, { by: "jiangsu_city" })),
        getJSON("/v1/stats/employment", withParams(base, { by: "where" })),
        getJSON("/v1/stats/retention", base),
        getJSON("/v1/stats/funnel", base),
        getJSON("/v1/stats/training", base),
        getJSON("/v1/stats/bus", base),
        getJSON("/v1/stats/warnings", base),
        getJSON("/v1/agreements", new URLSearchParams({ year })),
      ]);
      const progress = await Promise.all(
        listed.items.map((item) => getJSON(`/v1/agreements/${encodeURIComponent(item.id)}/progress`)),
      );
      if (mine !== generation) return;
      notify("");
      $("scope").textContent = `统计范围：${byProvince.scope}`;
      const months = byProvince.series.map((point) => point.month);
      $("as-of").textContent = `统计日 ${byProvince.on} · 区间 ${months[0]} 至 ${months.at(-1)}`;
      tiles(byWhere, retention, training, bus, warnings);
      trendChart(byProvince.series);
      barChart("chart-province", byProvince.breakdown);
      barChart("chart-city", byCity.breakdown.filter((cell) => cell.key !== null));
      funnelChart(funnel.total);
      retentionChart(retention.cohorts);
      agreements(progress, year);
      setStatus(`已更新 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`);
      document.body.dataset.loaded = String(mine);
    } catch (error) {
      if (mine !== generation) return;
      setStatus("");
      failed(error);
    } finally {
      if (mine === generation) $("filter-submit").disabled = false;
    }
  }

  // --- the monthly report ----------------------------------------------------------------------------------

  function filenameOf(disposition) {
    if (!disposition) return "";
    const encoded = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
    if (encoded) {
      try {
        return decodeURIComponent(encoded[1].trim());
      } catch {
        // fall back to the plain name
      }
    }
    const plain = /filename\s*=\s*(?:"([^"]*)"|([^;]+))/i.exec(disposition);
    return plain ? (plain[1] || plain[2]).trim() : "";
  }

  function save(blob, name) {
    const address = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = address;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(address), 60_000);
  }

  async function downloadReport() {
    const month = $("report-month").value || shiftMonth(thisMonth(), -1);
    const params = filters();
    params.delete("from");
    params.delete("to");
    params.set("month", month);
    params.set("format", "xlsx");
    const button = $("report-download");
    button.disabled = true;
    setStatus(`正在生成 ${monthName(month)}调度报表…`);
    try {
      // a plain link could not send the token: fetched here, saved from a blob
      const response = await call("/v1/reports/monthly", params, XLSX);
      const name = filenameOf(response.headers.get("Content-Disposition")) || `eastwest-monthly-report-${month}.xlsx`;
      save(await response.blob(), name.replace(/[\\/]/g, "_"));
      setStatus(`已下载 ${monthName(month)}调度报表`);
    } catch (error) {
      setStatus("");
      failed(error, "该月份的调度报表暂不可用，或所选范围不在您的查看权限内。");
    } finally {
      button.disabled = false;
    }
  }

  $("report-download").addEventListener("click", downloadReport);

  // --- start, and what the next viewer starts from ---------------------------------------------------------

  function defaultFilters() {
    const current = thisMonth();
    for (const id of ["filter-from", "filter-to", "report-month"]) $(id).max = current;
    $("filter-to").value = current;
    $("filter-from").value = shiftMonth(current, -11);
    $("report-month").value = shiftMonth(current, -1);
    $("filter-province").value = "";
    $("filter-city").value = "";
  }

  function clearBoard() {
    // nothing of the last viewer's figures stays in the page
    defaultFilters();
    $("filter-submit").disabled = false;
    for (const element of document.querySelectorAll(".chart")) {
      Plotly.purge(element);
      element.replaceChildren();
    }
    for (const element of document.querySelectorAll(".tile")) {
      element.querySelector(".value").textContent = "—";
      element.querySelector(".note").textContent = "";
    }
    $("tile-started").querySelector(".label").textContent = "本月新增";
    $("agreements").replaceChildren();
    $("agreements-year").textContent = "";
  }

  defaultFilters();
  loadRegions();
  if (token()) {
    showBoard(true);
    load();
  } else {
    showBoard(false);
  }
})();
