package io.relaymesh.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.e2e.Children.Child;
import io.relaymesh.cli.e2e.Children.Result;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Issue 5 in a real browser: one {@code relaymesh dev} child (control plane, relay with apps host
 * {@code apps.localhost}, workspace {@code dev} with its agent), the CLI in child JVMs, Debian's
 * headless Chromium through chromedriver (Chromium resolves {@code *.localhost} to loopback by
 * itself), and workspace apps on 127.0.0.1: {@code python3 -m http.server} exactly as the README
 * says, a recording app that shows the request it saw, and a WebSocket echo app. Each test uses
 * a fresh browser profile.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AppsBrowserE2ETest {

  static Path tmp;
  static Path data;
  static DevProcess devProcess;
  static Children cli;
  static Child python;
  static int pythonPort;
  static JsonObject devJson;
  static String adminPassword;
  static WorkspaceApps apps;
  ChromeDriver browser;

  @BeforeAll
  static void startDev() throws Exception {
    Browser.assumeInstalled();
    devProcess = DevProcess.start("relaymesh-apps-e2e-");
    tmp = devProcess.tmp;
    data = devProcess.data;
    cli = devProcess.cli;
    devJson = devProcess.devJson;
    adminPassword = Files.readString(data.resolve("admin-password")).trim();
    apps = new WorkspaceApps();

    // the README's demo app, started as the README says (bound to loopback, any free port)
    Path site = Files.createDirectories(tmp.resolve("site"));
    Files.writeString(site.resolve("hello-from-the-workspace.txt"), "hello\n");
    python = cli.start(List.of("python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
        "--directory", site.toString()), null);
    Pattern serving = Pattern.compile("port (\\d+)");
    Children.await(Duration.ofSeconds(20), () -> "python3 -m http.server to listen:\n" + python,
        () -> serving.matcher(python.stdout()).find() || !python.process().isAlive());
    Matcher m = serving.matcher(python.stdout());
    assertThat(m.find()).as("%s", python).isTrue();
    pythonPort = Integer.parseInt(m.group(1));
  }

  @AfterAll
  static void stopDev() throws Exception {
    if (apps != null) {
      apps.close();
    }
    if (devProcess != null) {
      devProcess.stop();
    }
  }

  @AfterEach
  void closeBrowser() {
    Browser.quit(browser);
    browser = null;
  }

  // ---------------------------------------------------------------- helpers

  static String label(int port) {
    return port + "--main--dev--admin";
  }

  static String appUrl(int port) {
    return "https://" + label(port) + "." + devJson.getString("appsHost") + "/";
  }

  static String controlUrl() {
    return devJson.getString("controlUrl");
  }

  ChromeDriver browser() throws Exception {
    browser = Browser.open(tmp, devJson.getString("caCert"));
    return browser;
  }

  static WebDriverWait waitFor(ChromeDriver d) {
    return new WebDriverWait(d, Duration.ofSeconds(30));
  }

  static Result share(int port, String level) {
    Result r = cli.cliRun("ports", "share", "dev", String.valueOf(port), "--level", level);
    assertThat(r.exit()).as("%s", r).isZero();
    return r;
  }

  /** On the control plane's login page (after a redirect): signs in. */
  static void logIn(ChromeDriver d, String user, String password) {
    waitFor(d).until(ExpectedConditions.urlContains(controlUrl() + "/login"));
    d.findElement(By.id("username")).sendKeys(user);
    d.findElement(By.id("password")).sendKeys(password);
    d.findElement(By.id("login")).click();
  }

  static void createUser(String name, String password) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create(controlUrl() + "/api/v1/users"))
        .header("Authorization", "Bearer " + devJson.getString("adminToken"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", name)
            .put("password", password).encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("create user %s: %s", name, r.body()).isEqualTo(201);
  }

  /** What the recording app saw, without the browser's own favicon requests. */
  static List<WorkspaceApps.Seen> pages() {
    return apps.seen.stream().filter(x -> !x.uri().equals("/favicon.ico")).toList();
  }

  static String text(ChromeDriver d) {
    return d.findElement(By.tagName("body")).getText();
  }

  // ---------------------------------------------------------------- tests

  @Test
  @Order(1)
  void ownerOpensAPrivateAppThroughTheLoginAndTheAppSeesNoRelaymeshCredentials() throws Exception {
    int port = apps.recordingPort();
    ChromeDriver d = browser();
    d.get(appUrl(port) + "some/path?q=1&relaymesh_session_token=leak");

    logIn(d, "admin", adminPassword);
    waitFor(d).until(ExpectedConditions.presenceOfElementLocated(By.id("marker")));
    assertThat(d.getCurrentUrl()).startsWith(appUrl(port) + "some/path?q=1");

    // what the app saw: forwarded headers, none of relaymesh's cookies, headers or parameters
    String seen = d.findElement(By.id("seen")).getText();
    assertThat(seen).contains("X-Forwarded-Proto: https")
        .contains("X-Forwarded-Host: " + label(port) + ".")
        .doesNotContainIgnoringCase("relaymesh")
        .doesNotContain("rms_");
    WorkspaceApps.Seen last = pages().get(pages().size() - 1);
    assertThat(last.uri()).isEqualTo("/some/path?q=1");
    assertThat(last.headers().getOrDefault("Cookie", "")).doesNotContain("relaymesh");

    // the app cookie: host-only, Secure, HttpOnly, SameSite=Lax; not readable by the app's script
    Set<Cookie> cookies = d.manage().getCookies();
    assertThat(cookies).anySatisfy(c -> {
      assertThat(c.getName()).startsWith("__Host-relaymesh_app_");
      assertThat(c.isSecure()).isTrue();
      assertThat(c.isHttpOnly()).isTrue();
      assertThat(c.getSameSite()).isEqualTo("Lax");
      assertThat(c.getPath()).isEqualTo("/");
    });
    assertThat(String.valueOf(d.executeScript("return document.cookie"))).doesNotContain("relaymesh");

    // next visit: straight in, no login round trip
    int before = pages().size();
    d.get(appUrl(port) + "again");
    waitFor(d).until(ExpectedConditions.presenceOfElementLocated(By.id("marker")));
    assertThat(d.getCurrentUrl()).isEqualTo(appUrl(port) + "again");
    assertThat(pages().size()).isEqualTo(before + 1);
  }

  @Test
  @Order(2)
  void aSecondUserIsRefusedOnAnOwnerShareAndAllowedOnceItIsAuthenticated() throws Exception {
    int port = apps.recordingPort();
    createUser("bob", "bob-password-123");
    ChromeDriver d = browser();
    d.get(appUrl(port));
    logIn(d, "bob", "bob-password-123");
    waitFor(d).until(ExpectedConditions.textToBePresentInElementLocated(By.tagName("body"),
        "owner"));
    assertThat(text(d)).contains("bob").contains(label(port));
    assertThat(d.findElements(By.id("marker"))).isEmpty();
    int requestsBefore = pages().size();

    Result r = share(port, "authenticated");
    assertThat(r.out()).contains(appUrl(port));
    d.get(appUrl(port) + "now");
    waitFor(d).until(ExpectedConditions.presenceOfElementLocated(By.id("marker")));
    assertThat(d.getCurrentUrl()).isEqualTo(appUrl(port) + "now");
    assertThat(pages().size()).isEqualTo(requestsBefore + 1);
  }

  @Test
  @Order(3)
  void anAnonymousBrowserOpensAPublicShareAsTheReadmeSays() throws Exception {
    // README: python3 -m http.server 8000; relaymesh ports share dev 8000 --level public
    Result r = share(pythonPort, "public");
    assertThat(r.out()).contains(appUrl(pythonPort));
    ChromeDriver d = browser();
    d.get(appUrl(pythonPort));
    waitFor(d).until(ExpectedConditions.textToBePresentInElementLocated(By.tagName("body"),
        "hello-from-the-workspace.txt"));
    assertThat(d.getCurrentUrl()).isEqualTo(appUrl(pythonPort));
    d.findElement(By.linkText("hello-from-the-workspace.txt")).click();
    waitFor(d).until(ExpectedConditions.textToBePresentInElementLocated(By.tagName("body"),
        "hello"));
    assertThat(d.getCurrentUrl()).isEqualTo(appUrl(pythonPort) + "hello-from-the-workspace.txt");
  }

  @Test
  @Order(4)
  void aWebSocketEchoAppWorksThroughTheRelay() throws Exception {
    int port = apps.webSocketPort();
    share(port, "public");
    ChromeDriver d = browser();
    d.get(appUrl(port) + "#42");
    WebElement out = d.findElement(By.id("out"));
    waitFor(d).until(x -> !out.getText().isEmpty());
    assertThat(out.getText()).isEqualTo("echo: ping-42");
  }

  @Test
  @Order(5)
  void theDashboardListsTheShareAndItsUrlOpensTheApp() throws Exception {
    ChromeDriver d = browser();
    d.get(controlUrl() + "/");
    logIn(d, "admin", adminPassword);
    By row = By.cssSelector("tr[data-app='" + label(pythonPort) + "']");
    waitFor(d).until(ExpectedConditions.presenceOfElementLocated(row));
    WebElement link = d.findElement(row).findElement(By.cssSelector("a.share-url"));
    assertThat(link.getAttribute("href")).isEqualTo(appUrl(pythonPort));
    assertThat(d.findElement(row).getText()).contains("public");
    // the workspace and its agent's relay are listed too
    assertThat(text(d)).contains("dev").contains("local");
    link.click();
    if (d.getWindowHandles().size() > 1) { // target=_blank
      String current = d.getWindowHandle();
      d.getWindowHandles().stream().filter(h -> !h.equals(current)).findFirst()
          .ifPresent(h -> d.switchTo().window(h));
    }
    waitFor(d).until(ExpectedConditions.textToBePresentInElementLocated(By.tagName("body"),
        "hello-from-the-workspace.txt"));
    assertThat(d.getCurrentUrl()).isEqualTo(appUrl(pythonPort));
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
