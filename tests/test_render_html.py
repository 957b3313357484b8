"""The explorable HTML page of a diagram (`archdsl render -o NET.html`, archdsl/render/html.py),
opened in a real headless Chromium driven by selenium: the outline, opening a scope, the search
box, and the figures the info panel shows, checked against torchvision's GoogLeNet
(tests/reference/torchvision.json: its state_dict names the modules and gives each weight's
shape) and the GoogLeNet paper's Table 1 (inception 5b works on 7x7 maps); DenseNet-121's page
against torchvision's DenseNet-121. Skips when selenium, Chromium, its driver or graphviz's dot
is missing; writes a screenshot as its artifact."""
from __future__ import annotations

import math
import re
import shutil

import pytest

from archdsl.cli import main

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

BROWSER = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(BROWSER is None or DRIVER is None,
                       reason="headless Chromium and chromedriver not installed "
                       "(Debian: apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot not installed"),
]

# The nodes whose boxes lie inside the picture's visible area, by their page keys.
VISIBLE_KEYS = """
const c = document.getElementById('canvas').getBoundingClientRect();
return Array.from(document.querySelectorAll('#canvas g.node')).filter(g => {
  const r = g.getBoundingClientRect();
  return r.width > 0 && r.right > c.left && r.left < c.right && r.bottom > c.top && r.top < c.bottom;
}).map(g => g.dataset.key);
"""


def _page(tmp_path_factory, *args) -> str:
    """The page `archdsl render ARGS -o NET.html` writes, as a file: URL."""
    path = tmp_path_factory.mktemp("html") / "net.html"
    assert main(["render", *args, "-o", str(path)]) == 0
    return path.as_uri()


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    return _page(tmp_path_factory, "zoo:googlenet")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = BROWSER
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile}", "--window-size=1400,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


@pytest.fixture
def viewer(browser, page_url):
    """The page freshly opened (each test starts from the whole-network view)."""
    browser.get(page_url)
    browser.find_element(By.CSS_SELECTOR, "#canvas svg g.node")
    return browser


def _state_dict(torchvision_reference) -> dict:
    return torchvision_reference["googlenet"]["state_dict"]


def _info(driver) -> dict:
    """The info panel's rows, fact -> text."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#info table.facts tr")
    return {r.get_attribute("data-fact"): r.find_element(By.TAG_NAME, "td").text for r in rows}


def _exact(text: str) -> int:
    """The exact figure of a row such as `663,552 (664K)`."""
    return int(text.split(" ")[0].replace(",", ""))


def _node(driver, key):
    return driver.find_element(By.CSS_SELECTOR, f'#canvas g.node[data-key="{key}"]')


def test_page_needs_nothing_from_outside(viewer):
    """Self-contained: the page loads no script, style, font or image of its own (nothing a
    CDN or a second file could serve)."""
    assert viewer.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert viewer.execute_script("return document.querySelectorAll('script[src], link').length") == 0


def test_outline_lists_inception4a_and_clicking_it_shows_its_four_branches(
        viewer, torchvision_reference):
    branches = {k.split(".")[1] for k in _state_dict(torchvision_reference)
                if k.startswith("inception4a.")}
    assert branches == {"branch1", "branch2", "branch3", "branch4"}  # torchvision's module
    entry = viewer.find_element(By.CSS_SELECTOR, '#outline button[data-path="inception4a"]')
    assert entry.text.startswith("inception4a")
    entry.click()
    visible = set(viewer.execute_script(VISIBLE_KEYS))
    assert {f"inception4a.{b}" for b in branches} <= visible
    # zoomed to the module: the picture no longer shows the stem or the classifier
    assert "conv1.conv" not in visible and "fc" not in visible
    # its concat lists its inputs in order: one per branch, branch1 to branch4
    ActionChains(viewer).click(_node(viewer, "inception4a.concat#0")).perform()
    inputs = [a.get_attribute("data-key")
              for a in viewer.find_elements(By.CSS_SELECTOR, "#info ol.inputs a")]
    assert [k.split(".")[1] for k in inputs] == sorted(branches)


def test_clicking_a_collapsed_branch_opens_it(viewer, torchvision_reference):
    """inception4a.branch2 is drawn collapsed in the whole-network view; a click opens its own
    view, with the 1x1 reduction and the 3x3 conv that torchvision's state_dict names."""
    viewer.find_element(By.CSS_SELECTOR, '#outline button[data-path="inception4a"]').click()
    assert viewer.execute_script("return archdslViewer.current") == 0
    ActionChains(viewer).click(_node(viewer, "inception4a.branch2")).perform()
    assert viewer.execute_script("return archdslViewer.current") > 0
    crumbs = viewer.find_element(By.ID, "crumbs").text
    assert "inception4a" in crumbs and "branch2" in crumbs
    convs = {k[:-len(".weight")] for k in _state_dict(torchvision_reference)
             if k.startswith("inception4a.branch2.") and k.endswith("conv.weight")}
    assert convs == {"inception4a.branch2.0.conv", "inception4a.branch2.1.conv"}
    assert convs <= set(viewer.execute_script(VISIBLE_KEYS))


def test_search_finds_inception5b_branch2(viewer):
    box = viewer.find_element(By.ID, "search")
    box.send_keys("inception5b.branch2")
    hits = [li.get_attribute("data-key")
            for li in viewer.find_elements(By.CSS_SELECTOR, "#results li[data-key]")]
    assert hits and hits[0] == "inception5b.branch2"
    assert all(h.startswith("inception5b.branch2") for h in hits)
    box.send_keys(Keys.ENTER)
    found = viewer.find_element(By.CSS_SELECTOR, "#canvas g.node.hl")
    assert found.get_attribute("data-key") == "inception5b.branch2"
    assert found.get_attribute("data-key") in viewer.execute_script(VISIBLE_KEYS)
    assert viewer.find_element(By.CSS_SELECTOR, "#info h2").text == "inception5b.branch2"


def test_node_info_shows_the_reference_params_and_flops(viewer, torchvision_reference):
    """Hovering over inception5b's 3x3 conv (branch2.1) shows its op, arguments, output shape,
    params (its weight's size in torchvision's state_dict) and FLOPs (the multiply-adds of that
    weight over the paper's 7x7 output maps); clicking its batch norm pins bn's params
    (weight and bias; the running statistics are buffers)."""
    sd = _state_dict(torchvision_reference)
    weight = sd["inception5b.branch2.1.conv.weight"]          # [384, 192, 3, 3]
    viewer.find_element(By.ID, "search").send_keys("inception5b.branch2.1.conv", Keys.ENTER)
    ActionChains(viewer).move_to_element(_node(viewer, "inception5b.branch2.1.conv")).perform()
    info = _info(viewer)
    assert info["op"] == "conv"
    assert info["output shape"] == f"{weight[0]}\u00d77\u00d77"
    assert _exact(info["params"]) == math.prod(weight)
    assert _exact(info["FLOPs"]) == math.prod(weight) * 7 * 7
    args = {r.get_attribute("data-arg"): r.find_element(By.TAG_NAME, "td").text
            for r in viewer.find_elements(By.CSS_SELECTOR, "#info table.args tr")}
    assert args["out"] == str(weight[0]) and args["k"] == str(weight[2])

    ActionChains(viewer).click(_node(viewer, "inception5b.branch2.1.bn")).perform()
    info = _info(viewer)
    assert info["op"] == "bn"
    assert _exact(info["params"]) == (sd["inception5b.branch2.1.bn.weight"][0]
                                      + sd["inception5b.branch2.1.bn.bias"][0])


def test_header_shows_torchvision_parameter_count(viewer, torchvision_reference):
    """The page's totals are the network's: torchvision's GoogLeNet with its aux heads has
    13,004,888 parameters (tests/reference/torchvision.json)."""
    params = torchvision_reference["googlenet"]["params"]
    data = viewer.execute_script(
        "return JSON.parse(document.getElementById('archdsl-data').textContent).totals")
    assert data["params"] == params
    assert viewer.find_element(By.ID, "net-totals").text.startswith(f"{params / 1e6:.3g}M params")


@pytest.fixture(scope="module")
def densenet_url(tmp_path_factory):
    return _page(tmp_path_factory, "zoo:densenet121")


def test_a_concat_on_a_bus_lists_every_input_in_order(browser, densenet_url,
                                                        torchvision_reference):
    """DenseNet-121's block 3 draws its concats along a bus; the last one is still shown to
    read the block's input and the outputs of all its layers, in order: the 24 layers
    torchvision's state_dict has in features.denseblock3, each ending in its conv2."""
    layers = sorted({int(m.group(1)) for k in torchvision_reference["densenet121"]["state_dict"]
                     for m in [re.match(r"features\.denseblock3\.denselayer(\d+)\.", k)] if m})
    assert layers == list(range(1, 25))
    browser.get(densenet_url)
    browser.find_element(By.CSS_SELECTOR, "#canvas svg g.node")
    last = f"features.denseblock3.concat#{len(layers) - 1}"
    box = browser.find_element(By.ID, "search")
    box.send_keys(last)
    hits = [li.get_attribute("data-key")
            for li in browser.find_elements(By.CSS_SELECTOR, "#results li[data-key]")]
    assert hits[0] == last
    box.send_keys(Keys.ENTER)
    found = browser.find_element(By.CSS_SELECTOR, "#canvas g.node.hl")
    assert found.get_attribute("data-key") == last
    assert f"{len(layers) + 1} inputs" in found.text     # the bus hides them, the label says it
    inputs = [a.get_attribute("data-key")
              for a in browser.find_elements(By.CSS_SELECTOR, "#info ol.inputs a")]
    assert inputs[0].startswith("features.transition2.")  # the block's input
    assert inputs[1:] == [f"features.denseblock3.denselayer{i}.conv2" for i in layers]


def test_pan_and_zoom_change_the_view(viewer):
    def box():
        return viewer.execute_script("return document.querySelector('#canvas svg')"
                                     ".getAttribute('viewBox')")
    viewer.find_element(By.ID, "zoom-fit").click()
    fitted = box()
    viewer.find_element(By.ID, "zoom-in").click()
    zoomed = [float(x) for x in box().split()]
    assert zoomed[2] < float(fitted.split()[2])
    canvas = viewer.find_element(By.ID, "canvas")
    ActionChains(viewer).move_to_element(canvas).click_and_hold().move_by_offset(120, 80) \
        .release().perform()
    panned = [float(x) for x in box().split()]
    assert panned[2] == pytest.approx(zoomed[2]) and panned[0] < zoomed[0] and panned[1] < zoomed[1]
    viewer.find_element(By.ID, "zoom-fit").click()
    assert box() == fitted


def test_screenshot(viewer, tmp_path_factory):
    """The artifact: inception4a opened from the outline, a branch's figures in the panel."""
    viewer.find_element(By.CSS_SELECTOR, '#outline button[data-path="inception4a"]').click()
    ActionChains(viewer).move_to_element(_node(viewer, "inception4a.branch2")).perform()
    shot = tmp_path_factory.mktemp("artifacts") / "googlenet_html.png"
    assert viewer.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000 and re.match(rb"\x89PNG", shot.read_bytes()[:4])
