// The live-stream job board: cards from /live/jobs, kept live by /live/stream (Server-Sent Events), and a
// sign-up form that posts straight to demand (/v1/live-signups). Plain JavaScript, nothing loaded from outside.
// All text goes in through textContent: nothing from the server is ever parsed as HTML.
"use strict";

(() => {
  const params = new URLSearchParams(window.location.search);
  const streamId = params.get("stream_id") || "";
  const provinceCode = params.get("province_code") || "";
  const cityCode = params.get("city_code") || "";
  const screenMode = params.get("screen") === "1";

  const cards = new Map(); // job id -> {data, element}
  let featuredId = null;

  const $ = (id) => document.getElementById(id);
  const grid = $("cards");
  const template = $("card-template");
  const form = $("signup-form");
  const jobSelect = $("signup-job");
  const stationSelect = $("signup-station");
  const message = $("signup-message");
  const submit = $("signup-submit");

  const yuan = (value) => Number(value).toLocaleString("zh-CN");

  function setStatus(state, text) {
    const status = $("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  function query(extra) {
    const q = new URLSearchParams();
    if (streamId) q.set("stream_id", streamId);
    if (cityCode) q.set("city_code", cityCode);
    for (const [key, value] of Object.entries(extra || {})) q.set(key, String(value));
    return q.toString();
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  // --- cards -----------------------------------------------------------------------------------------------

  function fill(element, job) {
    element.dataset.jobId = job.id;
    element.dataset.version = String(job.version);
    element.querySelector(".title").textContent = job.title;
    element.querySelector(".employer").textContent = job.employer_name;
    element.querySelector(".amount").textContent =
      job.salary_min === job.salary_max ? yuan(job.salary_min) : `${yuan(job.salary_min)}–${yuan(job.salary_max)}`;
    element.querySelector(".city").textContent = `江苏 ${job.city_name}`;
    const dorm = element.querySelector(".dorm");
    dorm.textContent = job.dormitory ? "包住" : "不包住";
    dorm.className = `dorm ${job.dormitory ? "yes" : "no"}`;
    const meals = element.querySelector(".meals");
    meals.textContent = job.meals ? "包吃" : "不包吃";
    meals.className = `meals ${job.meals ? "yes" : "no"}`;
    const headcount = element.querySelector(".headcount");
    headcount.replaceChildren();
    if (job.headcount_left > 0) {
      headcount.className = "headcount";
      headcount.append("剩余名额 ");
      const left = document.createElement("strong");
      left.textContent = String(job.headcount_left);
      headcount.append(left, ` 人（共招 ${job.headcount} 人）`);
    } else {
      headcount.className = "headcount full";
      headcount.textContent = "名额已满";
    }
    element.querySelector(".apply").disabled = job.headcount_left <= 0;
  }

  function upsert(job) {
    const known = cards.get(job.id);
    if (known) {
      if (known.data.version >= job.version) return; // nothing new (a pin resends the card it shows)
      known.data = job;
      fill(known.element, job);
      known.element.classList.remove("changed");
      void known.element.offsetWidth; // restart the flash
      known.element.classList.add("changed");
    } else {
      const element = template.content.firstElementChild.cloneNode(true);
      fill(element, job);
      element.querySelector(".apply").addEventListener("click", () => choose(job.id));
      grid.prepend(element);
      cards.set(job.id, { data: job, element });
      if (job.id === featuredId) element.classList.add("featured");
    }
    syncJobs();
  }

  function remove(jobId) {
    const known = cards.get(jobId);
    if (!known) return;
    cards.delete(jobId);
    known.element.classList.add("leaving");
    known.element.dataset.leaving = "true";
    setTimeout(() => known.element.remove(), 400);
    syncJobs();
  }

  function setFeatured(jobId) {
    featuredId = jobId || null;
    for (const [id, { element }] of cards) element.classList.toggle("featured", id === featuredId);
    if (featuredId && !jobSelect.value && cards.has(featuredId)) jobSelect.value = featuredId;
  }

  function syncJobs() {
    const selected = jobSelect.value;
    const options = [new Option("请选择岗位", "")];
    const ordered = [...cards.values()].sort((a, b) =>
      a.data.id === featuredId ? -1 : b.data.id === featuredId ? 1 : 0,
    );
    for (const { data } of ordered) {
      const option = new Option(`${data.title}（${data.employer_name}，${data.city_name}）`, data.id);
      option.disabled = data.headcount_left <= 0;
      options.push(option);
    }
    jobSelect.replaceChildren(...options);
    if (selected && cards.has(selected)) {
      jobSelect.value = selected;
    } else if (selected) {
      showFieldError("job_id", "您选择的岗位已结束招聘，请重新选择");
    } else if (featuredId && cards.has(featuredId)) {
      jobSelect.value = featuredId;
    }
    const count = cards.size;
    $("job-count").textContent = `${count} 个岗位`;
    $("empty").hidden = count > 0;
  }

  function choose(jobId) {
    jobSelect.value = jobId;
    clearErrors();
    $("signup-name").focus();
  }

  // --- the stream --------------------------------------------------------------------------------------------

  function listen(version) {
    const source = new EventSource(`/live/stream?${query({ since: version })}`);
    const data = (handler) => (event) => handler(JSON.parse(event.data));
    source.addEventListener("job.published", data(upsert));
    source.addEventListener("job.updated", data(upsert));
    source.addEventListener("job.closed", data((tombstone) => remove(tombstone.id)));
    source.addEventListener(
      "featured",
      data((pin) => {
        if (pin.card) upsert(pin.card);
        setFeatured(pin.job_id);
      }),
    );
    source.addEventListener("open", () => setStatus("live", "实时更新中"));
    source.addEventListener("error", () => setStatus("lost", "连接中断，正在重连…"));
  }

  // --- the form ----------------------------------------------------------------------------------------------

  function clearErrors() {
    for (const error of form.querySelectorAll(".field-error")) error.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  function showFieldError(field, text) {
    const target = form.querySelector(`.field-error[data-field="${field}"]`);
    if (target) target.textContent = text;
    const input = form.elements.namedItem(field);
    if (input) input.setAttribute("aria-invalid", "true");
  }

  function say(outcome, text) {
    message.dataset.outcome = outcome;
    message.textContent = text;
  }

  async function signUp(event) {
    event.preventDefault();
    clearErrors();
    say("", "");
    const body = {
      stream_id: streamId,
      job_id: jobSelect.value,
      station_id: stationSelect.value,
      name: $("signup-name").value,
      phone: $("signup-phone").value,
      consent: $("signup-consent").checked, // unticked unless the viewer ticks it; demand refuses false
    };
    submit.disabled = true;
    try {
      const response = await fetch("/v1/live-signups", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        say("received", answer.message); // the same answer whether or not the viewer is registered
        form.reset(); // nobody's name or phone stays on the screen, and the next viewer ticks the box again
        syncJobs();
      } else if (response.status === 422 && Array.isArray(answer.errors)) {
        for (const error of answer.errors) showFieldError(String(error.field).replace(/^body\./, ""), error.message);
        say("error", `请检查：${answer.errors.map((error) => error.message).join("；")}`);
      } else if (response.status === 429) {
        say("error", answer.detail || "提交过于频繁，请稍后再试");
      } else {
        say("error", answer.detail || "提交失败，请稍后重试");
      }
    } catch (error) {
      say("error", "网络连接失败，请检查网络后重试");
    } finally {
      submit.disabled = false;
    }
  }

  async function loadStations() {
    try {
      const stations = await getJSON(`/live/stations?${provinceCode ? `province_code=${encodeURIComponent(provinceCode)}` : ""}`);
      if (stations.province_name) $("audience").textContent = `面向${stations.province_name}务工人员`;
      const options = [new Option("请选择联络站", "")];
      for (const station of stations.items) options.push(new Option(station.name, station.id));
      stationSelect.replaceChildren(...options);
    } catch (error) {
      showFieldError("station_id", "联络站列表加载失败，请刷新页面");
    }
  }

  // --- start -------------------------------------------------------------------------------------------------

  async function loadBoard() {
    try {
      const board = await getJSON(`/live/jobs?${query()}`);
      featuredId = board.featured_job_id;
      for (const job of [...board.items].reverse()) upsert(job);
      setFeatured(board.featured_job_id);
      listen(board.version);
    } catch (error) {
      setStatus("lost", "岗位加载失败，正在重试…");
      setTimeout(loadBoard, 3000);
    }
  }

  if (screenMode) document.body.classList.add("screen");
  if (!streamId) {
    document.body.classList.add("no-signup");
    $("signup-disabled").hidden = false;
    form.hidden = true;
  }
  form.addEventListener("submit", signUp);
  loadStations();
  loadBoard();
})();
