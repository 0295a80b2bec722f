"""The GA4 e-commerce dashboard in a real browser: Debian's chromium driven by Playwright.

Playwright's own browser download is not reachable from these machines, so the browser is the
system's chromium (``GA4LAKE_CHROMIUM``, default /usr/bin/chromium, installed by
``ga4lake install --only superset``). A chart counts as rendered when its container holds a canvas,
an SVG, a table or a big number and no loading indicator; as failed when its /api/v1/chart/data
answer is not a success or it shows an error alert.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ga4lake.config import REPO_ROOT, Settings, load_settings, setting
from ga4lake.dashboard import DashboardError
from ga4lake.dashboard.filters import NO_FILTER, FilterState
from ga4lake.stack import superset

DASHBOARD_SLUG = "ga4-ecommerce"
DEVICE_FILTER = "NATIVE_FILTER-ga4-device"  # ids from superset/bundle/dashboards/ga4_ecommerce.yaml
BUILD_DIR = REPO_ROOT / "build"  # git-ignored
VIEWPORT = {"width": 1600, "height": 3400}  # taller than the grid: no chart waits for scrolling

SETTLE_MS = 500  # a chart is finished once its canvases have not been drawn on for this long

# Injected into every page before its own scripts. Every 2D-canvas drawing call stamps its canvas
# with the time (performance.now(): ms since the navigation started), so a chart counts as finished
# only when its canvases have stopped changing: ECharts reports nothing on the DOM when an animation
# or a progressive render ends, and a picture taken earlier shows half-drawn lines. On a dashboard,
# the moment each chart is first done in the DOM is recorded every frame, inside the page, so the
# timing does not include this harness's own round trips.
_DRAW_CLOCK_JS = """
(() => {
  const ctx = window.CanvasRenderingContext2D && CanvasRenderingContext2D.prototype;
  for (const name of ['clearRect', 'fillRect', 'strokeRect', 'fill', 'stroke', 'fillText', 'strokeText',
                      'drawImage', 'putImageData']) {
    const draw = ctx && ctx[name];
    if (typeof draw !== 'function') continue;
    ctx[name] = function (...args) {
      if (this.canvas) this.canvas.__ga4lakeDrawnAt = performance.now();
      return draw.apply(this, args);
    };
  }
})();
"""

# one state per chart holder on the page (data-test attributes are Superset's own e2e hooks); the
# text only when asked for: innerText makes the browser lay the page out, which the every-frame checks
# must not do while the page renders
_CHART_STATES_JS = """
(withText) => [...document.querySelectorAll('[data-test="chart-grid-component"]')].map(c => {
  const slice = c.querySelector('[data-test="slice-container"]');
  const alert = c.querySelector('[role="alert"], .ant-alert-error, .error-alert, [data-test="error-tooltip"]');
  const canvases = slice ? [...slice.querySelectorAll('canvas')] : [];
  const drawn = canvases.map(v => v.__ga4lakeDrawnAt).filter(t => t !== undefined);
  const id = Number(c.getAttribute('data-test-chart-id'));
  return {
    id: id,
    name: c.getAttribute('data-test-chart-name'),
    viz: c.getAttribute('data-test-viz-type'),
    loading: !!c.querySelector('[data-test="loading-indicator"]'),
    empty: !!c.querySelector('.ant-empty, [data-test="empty-state"]'),
    error: alert ? (alert.innerText || 'error').slice(0, 300) : null,
    rendered: !!(slice && slice.querySelector('canvas, svg, table, .header-line')),
    text: withText && slice ? slice.innerText.slice(0, 300) : '',
    canvases: canvases.length,
    drawn_at: drawn.length ? Math.max(...drawn) : null,
    done_at: (window.__ga4lakeDoneAt || {})[id] ?? null,
    idle_ms: drawn.length ? performance.now() - Math.max(...drawn) : null,
  };
})
"""
_DONE_JS = "s => !s.loading && (s.rendered || s.error || s.empty)"
# done, and every canvas drawn and then left alone for SETTLE_MS (charts without a canvas: done)
_FINISHED_JS = f"s => ({_DONE_JS})(s) && (s.canvases === 0 || s.error || (s.idle_ms ?? -1) >= {SETTLE_MS})"
_ALL_FINISHED_JS = (
    f"() => {{ const all = ({_CHART_STATES_JS})(false); "
    f"return all.length > 0 && all.every({_FINISHED_JS}); }}"
)
_RENDER_CLOCK_JS = f"""
if (location.pathname.includes('/dashboard/')) {{
  window.__ga4lakeDoneAt = {{}};
  const states = {_CHART_STATES_JS};
  const done = {_DONE_JS};
  const tick = () => {{
    const all = states(false);
    for (const s of all)
      if (!(s.id in window.__ga4lakeDoneAt) && done(s)) window.__ga4lakeDoneAt[s.id] = performance.now();
    if (!all.length || Object.keys(window.__ga4lakeDoneAt).length < all.length) requestAnimationFrame(tick);
  }};
  requestAnimationFrame(tick);
}}
"""


@dataclass
class ChartState:
    id: int
    name: str
    viz: str
    rendered: bool
    loading: bool
    empty: bool
    error: str | None
    text: str
    canvases: int = 0
    drawn_at: float | None = None  # ms since navigation: the last drawing call on the chart's canvases
    done_at: float | None = None  # ms since navigation: first seen done in the DOM
    idle_ms: float | None = None
    rows: int | None = None  # rows of the chart's data answer (None: no answer seen)
    records: list[dict[str, Any]] | None = None  # the data of that answer (first query)
    api_error: str | None = None

    @property
    def done(self) -> bool:
        return not self.loading and (self.rendered or self.error is not None or self.empty)

    @property
    def finished_ms(self) -> float | None:
        """When the chart looked as it does now: done in the DOM and its canvases last drawn."""
        times = [t for t in (self.done_at, self.drawn_at) if t is not None]
        return max(times) if times else None


@dataclass
class DashboardRun:
    seconds: float
    charts: list[ChartState]
    screenshot: Path | None = None
    requests: int = 0

    def problems(self) -> list[str]:
        """Every chart that errored, stayed empty or never rendered, as 'name: reason'."""
        out = []
        for c in self.charts:
            reason = c.error or c.api_error or ("no data" if c.empty or c.rows == 0 else None)
            if reason is None and not c.rendered:
                reason = "not rendered"
            if reason:
                out.append(f"{c.name} ({c.viz}): {reason}")
        return out

    def chart(self, viz: str) -> list[ChartState]:
        return [c for c in self.charts if c.viz == viz]

    def records(self) -> dict[str, list[dict[str, Any]]]:
        """What the page received, by chart name."""
        return {c.name: c.records or [] for c in self.charts}

    def texts(self) -> dict[str, str]:
        """What each chart shows as text (a KPI tile: its big number first)."""
        return {c.name: c.text for c in self.charts}


@dataclass
class _DataAnswers:
    """/api/v1/chart/data answers by slice id: rows and data, or the error Superset returned."""

    rows: dict[int, int] = field(default_factory=dict)
    records: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    count: int = 0

    def forget(self) -> None:
        """Drop the answers seen so far (before a filter change: every chart must answer again)."""
        self.rows.clear()
        self.records.clear()
        self.errors.clear()

    def record(self, response: Any) -> None:
        if "/api/v1/chart/data" not in response.url or response.request.method != "POST":
            return
        try:
            form_data = (response.request.post_data_json or {}).get("form_data") or {}
        except (ValueError, TypeError):
            return
        slice_id = form_data.get("slice_id")
        if slice_id is None:  # native filter option queries
            return
        self.count += 1
        try:
            payload = response.json()
        except Exception as exc:  # a non-JSON answer is an error page
            self.errors[slice_id] = f"HTTP {response.status}: {exc}"
            return
        results = payload.get("result") or []
        failed = [r.get("error") or r.get("status") for r in results if r.get("status") != "success"]
        if response.status != 200 or failed or not results:
            self.errors[slice_id] = f"HTTP {response.status}: {failed or payload.get('message') or payload}"[
                :300
            ]
        else:
            self.errors.pop(slice_id, None)
            self.rows[slice_id] = sum(int(r.get("rowcount") or 0) for r in results)
            self.records[slice_id] = list(results[0].get("data") or [])


def chromium_path() -> Path:
    path = Path(setting("GA4LAKE_CHROMIUM"))
    if not path.exists():
        raise DashboardError(
            f"chromium not found at {path}: run `ga4lake install --only superset` (apt-get install chromium) "
            "or set GA4LAKE_CHROMIUM"
        )
    return path


def playwright_ffmpeg() -> None:
    """Playwright records videos with its own ffmpeg build, a download that is not reachable here;
    Debian's ffmpeg (libvpx-vp9) takes the same arguments. Point Playwright's registry (under
    GA4LAKE_HOME) at it."""
    import playwright

    browsers = json.loads((Path(playwright.__file__).parent / "driver/package/browsers.json").read_text())
    revision = next(b["revision"] for b in browsers["browsers"] if b["name"] == "ffmpeg")
    system = Path(shutil.which("ffmpeg") or "/usr/bin/ffmpeg")
    if not system.exists():
        raise DashboardError(
            "ffmpeg not found: run `ga4lake install --only superset` (apt-get install ffmpeg)"
        )
    registry = Path(load_settings().home) / "playwright"
    link = registry / f"ffmpeg-{revision}" / "ffmpeg-linux"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)  # a dangling link
        link.symlink_to(system)
    os.environ["PLAYWRIGHT_BROWSERS_PATH"] = str(registry)


@contextmanager
def browser_context(video_dir: Path | None = None, viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A headless chromium context (sandbox off: these machines run as root)."""
    from playwright.sync_api import sync_playwright

    viewport = viewport or VIEWPORT
    if video_dir is not None:
        playwright_ffmpeg()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium_path()),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        options: dict[str, Any] = {"viewport": viewport}
        if video_dir is not None:
            options.update(record_video_dir=str(video_dir), record_video_size=viewport)
        context = browser.new_context(**options)
        context.add_init_script(_DRAW_CLOCK_JS)
        context.add_init_script(_RENDER_CLOCK_JS)
        try:
            yield context
        finally:
            context.close()
            browser.close()


def login(context: Any, settings: Settings, slow_ms: int = 0, page: Any = None, attempts: int = 3) -> None:
    """Log in through Superset's login form (on ``page``, kept open, else on a page of its own).

    Every Superset response re-sends the session cookie, so a request of the anonymous login page still
    under way when the form is sent can land after the login and put the anonymous session back (seen
    about once in four logins on the loaded two cores: the next page bounces to /login). Hence: send
    the form only once the page is quiet, check the session through the API, and try again."""
    user, password = superset.admin_user(), superset.admin_password()
    base = superset.base_url(settings)
    own_page = page is None
    page = page or context.new_page()
    for _ in range(attempts):
        page.goto(f"{base}/login/", wait_until="networkidle")
        page.fill("#username", user)
        if slow_ms:
            page.wait_for_timeout(slow_ms)
        page.fill("#password", password)
        page.click("button[type=submit]")
        try:
            page.wait_for_url(lambda url: "/login" not in url, timeout=30_000, wait_until="commit")
            page.wait_for_load_state("networkidle", timeout=30_000)
        except Exception:  # a timeout: still (or again) on the login page
            pass
        if "/login" not in page.url and page.request.get(f"{base}/api/v1/me/").ok:
            break
    else:
        raise DashboardError(f"Superset login as {user!r} failed {attempts} times (at {page.url})")
    if own_page:
        page.close()


def chart_states(page: Any, answers: _DataAnswers) -> list[ChartState]:
    states = [ChartState(**s) for s in page.evaluate(_CHART_STATES_JS, True)]
    for s in states:
        s.rows = answers.rows.get(s.id)
        s.records = answers.records.get(s.id)
        s.api_error = answers.errors.get(s.id)
    return states


def wait_for_charts(page: Any, answers: _DataAnswers, timeout: float = 60.0) -> list[ChartState]:
    """Wait until every chart on the page has its data answer and is finished: rendered (or empty, or
    failed) and, when it draws on a canvas, no longer drawing (animations and progressive rendering
    over).

    The DOM condition is evaluated inside the browser (no per-poll round trips that would compete
    with the page for the two cores while it renders)."""
    deadline = time.monotonic() + timeout
    states: list[ChartState] = []
    try:
        page.wait_for_selector('[data-test="chart-grid-component"]', timeout=timeout * 1000)
        while time.monotonic() < deadline:
            states = chart_states(page, answers)
            if all(s.rows is not None or s.api_error for s in states):
                left = max(deadline - time.monotonic(), 0.1) * 1000
                page.wait_for_function(_ALL_FINISHED_JS, polling=100, timeout=left)
                states = chart_states(page, answers)
                if all(s.rows is not None or s.api_error for s in states):  # no chart appeared meanwhile
                    return states
            page.wait_for_timeout(25)
    except Exception as exc:
        if "Timeout" not in type(exc).__name__:
            raise
    pending = [s.name for s in states if not s.done or s.rows is None] or [
        f"{s.name} (still drawing)" for s in states if s.canvases and (s.idle_ms or 0) < SETTLE_MS
    ]
    raise DashboardError(
        f"charts not finished within {timeout:.0f}s: {', '.join(pending) or '(no charts on the page)'}"
    )


def dashboard_url(settings: Settings, state: FilterState = NO_FILTER) -> str:
    return f"{superset.base_url(settings)}/superset/dashboard/{DASHBOARD_SLUG}/{state.url_query()}"


def open_dashboard(
    context: Any,
    settings: Settings,
    screenshot: Path | None = None,
    timeout: float = 60.0,
    page: Any = None,
    state: FilterState = NO_FILTER,
) -> tuple[Any, DashboardRun, _DataAnswers]:
    """Open the dashboard (in a new page unless given), with the filters of ``state`` applied; time
    from navigation to the last chart finished (drawn to the end)."""
    page = page or context.new_page()
    answers = _DataAnswers()
    page.on("response", answers.record)
    t0 = time.monotonic()
    response = page.goto(dashboard_url(settings, state))
    if "/login" in page.url:  # the session ended (a Superset restart in between): log in once more
        login(context, settings, page=page)
        t0 = time.monotonic()
        response = page.goto(dashboard_url(settings, state))
    if response is None or response.status != 200 or "/login" in page.url:
        raise DashboardError(
            f"dashboard {DASHBOARD_SLUG!r} did not open (HTTP {response and response.status}, at {page.url}): "
            "is the bundle imported (`ga4lake dashboard import`)?"
        )
    charts = wait_for_charts(page, answers, timeout)
    finished = [c.finished_ms for c in charts]
    # in-page clock from navigation start to the last chart finished; the harness's own wall clock if
    # the page clock is missing (it covers every chart only once all are finished)
    if all(t is not None for t in finished):
        seconds = max(t for t in finished if t is not None) / 1000
    else:
        seconds = time.monotonic() - t0
    run = DashboardRun(round(seconds, 3), charts, requests=answers.count)
    if screenshot is not None:
        take_screenshot(page, screenshot)
        run.screenshot = screenshot
    return page, run, answers


def take_screenshot(page: Any, path: Path) -> Path:
    """The whole dashboard as one PNG, cut at its last row (the viewport is taller than the grid)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bottom = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('[data-test="chart-grid-component"]')]
                   .map(c => c.getBoundingClientRect().bottom + window.scrollY))"""
    )
    width = page.viewport_size["width"] if page.viewport_size else VIEWPORT["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": int(bottom) + 24}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    return path


def apply_native_filter(
    page: Any, answers: _DataAnswers, filter_id: str, value: str, timeout: float = 60.0
) -> list[ChartState]:
    """Pick one value of a native select filter in the filter bar and apply it, as a user would; wait
    until every chart has answered the new query and is finished again."""
    page.locator(f'[data-test="{filter_id}"] .ant-select-selector').click()
    page.locator(f"#{filter_id}_list").wait_for(state="attached")
    page.locator(f'.ant-select-item-option[title="{value}"]').first.click()
    page.keyboard.press("Escape")
    before = answers.count
    answers.forget()  # every chart is in the filter's scope: each must answer again
    page.locator('[data-test="filter-bar__apply-button"]').click()
    deadline = time.monotonic() + timeout
    while answers.count == before and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    if answers.count == before:
        raise DashboardError(f"applying {filter_id}={value!r} re-queried no chart within {timeout:.0f}s")
    return wait_for_charts(page, answers, max(deadline - time.monotonic(), 1.0))


def gold_differences(settings: Settings, run: DashboardRun, state: FilterState = NO_FILTER) -> list[str]:
    """Where the page's data or KPI text differs from gold under ``state`` (empty: it shows gold)."""
    from ga4lake.dashboard import values

    return values.differences(values.gold_view(settings, state), run.records(), run.texts())


def check(settings: Settings, screenshot: Path | None = None) -> tuple[DashboardRun, list[str]]:
    """Log in, open the dashboard, wait for every chart to be drawn to the end; screenshot under build/;
    compare what the page received with gold."""
    screenshot = screenshot or BUILD_DIR / "dashboard.png"
    with browser_context() as context:
        login(context, settings)
        _, run, _ = open_dashboard(context, settings, screenshot=screenshot)
    return run, gold_differences(settings, run)


def timing(settings: Settings, runs: int = 3) -> list[DashboardRun]:
    """Open the dashboard ``runs`` times (logged in, fresh page each time, browser cache warm after
    the first: what a returning user sees); the data is queried every time (no result cache)."""
    out = []
    with browser_context() as context:
        login(context, settings)
        for _ in range(runs):
            page, run, _ = open_dashboard(context, settings)
            page.close()
            out.append(run)
    return out


def record_walkthrough(settings: Settings, out: Path | None = None) -> Path:
    """A short video: log in, wait for every chart, scroll through the sections, filter on a device."""
    out = out or BUILD_DIR / "dashboard-walkthrough.webm"
    tmp = out.parent / ".video-tmp"
    viewport = {"width": 1440, "height": 900}
    with browser_context(video_dir=tmp, viewport=viewport) as context:
        page = context.new_page()  # one page from the login form on: one video
        login(context, settings, slow_ms=400, page=page)
        page.wait_for_timeout(800)
        page, run, answers = open_dashboard(context, settings, timeout=90, page=page)
        page.wait_for_timeout(1500)
        height = page.evaluate("document.body.scrollHeight")
        for _ in range(0, int(height), 300):
            page.mouse.wheel(0, 300)
            page.wait_for_timeout(350)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(800)
        apply_native_filter(page, answers, DEVICE_FILTER, "mobile")
        page.wait_for_timeout(2000)
        video = page.video
        page.close()  # the video is complete once its page is closed
        out.parent.mkdir(parents=True, exist_ok=True)
        video.save_as(str(out))
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def summary(run: DashboardRun) -> str:
    rows = [
        {"chart": c.name, "viz": c.viz, "rows": c.rows, "ok": not c.error and not c.api_error}
        for c in run.charts
    ]
    return json.dumps({"seconds": run.seconds, "charts": rows, "requests": run.requests}, indent=2)
