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

from ga4lake.config import REPO_ROOT, Settings, load_settings
from ga4lake.dashboard import DashboardError
from ga4lake.stack import superset

DASHBOARD_SLUG = "ga4-ecommerce"
DEVICE_FILTER = "NATIVE_FILTER-ga4-device"  # ids from superset/bundle/dashboards/ga4_ecommerce.yaml
BUILD_DIR = REPO_ROOT / "build"  # git-ignored
VIEWPORT = {"width": 1600, "height": 2800}  # tall enough that no chart waits for scrolling

# one state per chart holder on the page (data-test attributes are Superset's own e2e hooks)
_CHART_STATES_JS = """
() => [...document.querySelectorAll('[data-test="chart-grid-component"]')].map(c => {
  const slice = c.querySelector('[data-test="slice-container"]');
  const alert = c.querySelector('[role="alert"], .ant-alert-error, .error-alert, [data-test="error-tooltip"]');
  return {
    id: Number(c.getAttribute('data-test-chart-id')),
    name: c.getAttribute('data-test-chart-name'),
    viz: c.getAttribute('data-test-viz-type'),
    loading: !!c.querySelector('[data-test="loading-indicator"]'),
    empty: !!c.querySelector('.ant-empty, [data-test="empty-state"]'),
    error: alert ? (alert.innerText || 'error').slice(0, 300) : null,
    rendered: !!(slice && slice.querySelector('canvas, svg, table, .header-line')),
    text: slice ? slice.innerText.slice(0, 300) : '',
  };
})
"""

_ALL_DONE_JS = f"() => ({_CHART_STATES_JS})().every(s => !s.loading && (s.rendered || s.error || s.empty))"
# Injected into every page: on a dashboard, the moment (performance.now(), i.e. ms since the
# navigation started) each chart is first done, checked every frame inside the page, so the timing
# does not include this harness's own round trips.
_RENDER_CLOCK_JS = f"""
if (location.pathname.includes('/dashboard/')) {{
  window.__ga4lakeDone = {{}};
  const states = {_CHART_STATES_JS};
  const tick = () => {{
    const all = states();
    for (const s of all)
      if (!(s.id in window.__ga4lakeDone) && !s.loading && (s.rendered || s.error || s.empty))
        window.__ga4lakeDone[s.id] = performance.now();
    if (!all.length || Object.keys(window.__ga4lakeDone).length < all.length) requestAnimationFrame(tick);
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
    rows: int | None = None  # rows of the chart's data answer (None: no answer seen)
    api_error: str | None = None

    @property
    def done(self) -> bool:
        return not self.loading and (self.rendered or self.error is not None or self.empty)


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


@dataclass
class _DataAnswers:
    """/api/v1/chart/data answers by slice id: rows, or the error Superset returned."""

    rows: dict[int, int] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    count: int = 0

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
            self.rows[slice_id] = sum(int(r.get("rowcount") or 0) for r in results)


def chromium_path() -> Path:
    path = Path(os.environ.get("GA4LAKE_CHROMIUM", "/usr/bin/chromium"))
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
        context.add_init_script(_RENDER_CLOCK_JS)
        try:
            yield context
        finally:
            context.close()
            browser.close()


def login(context: Any, settings: Settings, slow_ms: int = 0, page: Any = None) -> None:
    """Log in through Superset's login form (on ``page``, kept open, else on a page of its own)."""
    user, password = superset.admin_user(), superset.admin_password()
    own_page = page is None
    page = page or context.new_page()
    page.goto(f"{superset.base_url(settings)}/login/")
    page.fill("#username", user)
    if slow_ms:
        page.wait_for_timeout(slow_ms)
    page.fill("#password", password)
    page.click("button[type=submit]")
    try:
        page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    except Exception as exc:
        raise DashboardError(f"Superset login as {user!r} failed at {page.url}") from exc
    if own_page:
        page.close()


def chart_states(page: Any, answers: _DataAnswers) -> list[ChartState]:
    states = [ChartState(**s) for s in page.evaluate(_CHART_STATES_JS)]
    for s in states:
        s.rows = answers.rows.get(s.id)
        s.api_error = answers.errors.get(s.id)
    return states


def wait_for_charts(page: Any, answers: _DataAnswers, timeout: float = 60.0) -> list[ChartState]:
    """Wait until every chart on the page has its data answer and is done (rendered, empty or failed).

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
                page.wait_for_function(_ALL_DONE_JS, polling="raf", timeout=left)
                states = chart_states(page, answers)
                if all(s.rows is not None or s.api_error for s in states):  # no chart appeared meanwhile
                    return states
            page.wait_for_timeout(25)
    except Exception as exc:
        if "Timeout" not in type(exc).__name__:
            raise
    pending = [s.name for s in states if not s.done or s.rows is None] or ["(no charts on the page)"]
    raise DashboardError(f"charts not rendered within {timeout:.0f}s: {', '.join(pending)}")


def open_dashboard(
    context: Any, settings: Settings, screenshot: Path | None = None, timeout: float = 60.0, page: Any = None
) -> tuple[Any, DashboardRun, _DataAnswers]:
    """Open the dashboard (in a new page unless given); time from navigation to the last chart rendered."""
    page = page or context.new_page()
    answers = _DataAnswers()
    page.on("response", answers.record)
    t0 = time.monotonic()
    response = page.goto(f"{superset.base_url(settings)}/superset/dashboard/{DASHBOARD_SLUG}/")
    if response is None or response.status != 200 or "/login" in page.url:
        raise DashboardError(
            f"dashboard {DASHBOARD_SLUG!r} did not open (HTTP {response and response.status}, at {page.url}): "
            "is the bundle imported (`ga4lake dashboard import`)?"
        )
    charts = wait_for_charts(page, answers, timeout)
    done_ms = page.evaluate("() => Object.values(window.__ga4lakeDone || {})")
    # in-page clock from navigation start to the last chart done; the harness's own wall clock if
    # the page clock is missing (it covers every chart only once all are done)
    seconds = max(done_ms) / 1000 if len(done_ms) == len(charts) else time.monotonic() - t0
    run = DashboardRun(round(seconds, 3), charts, requests=answers.count)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        run.screenshot = screenshot
    return page, run, answers


def apply_native_filter(
    page: Any, answers: _DataAnswers, filter_id: str, value: str, timeout: float = 60.0
) -> None:
    """Pick one value of a native select filter in the filter bar and apply it, as a user would."""
    page.locator(f'[data-test="{filter_id}"] .ant-select-selector').click()
    page.locator(f"#{filter_id}_list").wait_for(state="attached")
    page.locator(f'.ant-select-item-option[title="{value}"]').first.click()
    page.keyboard.press("Escape")
    before = answers.count
    page.locator('[data-test="filter-bar__apply-button"]').click()
    deadline = time.monotonic() + timeout
    while answers.count == before and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    if answers.count == before:
        raise DashboardError(f"applying {filter_id}={value!r} re-queried no chart within {timeout:.0f}s")
    wait_for_charts(page, answers, timeout)


def check(settings: Settings, screenshot: Path | None = None) -> DashboardRun:
    """Log in, open the dashboard, wait for every chart; screenshot under build/."""
    screenshot = screenshot or BUILD_DIR / "dashboard.png"
    with browser_context() as context:
        login(context, settings)
        _, run, _ = open_dashboard(context, settings, screenshot=screenshot)
    return run


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
