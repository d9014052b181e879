package io.relaymesh.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.bench.e2e.Table.Condition;
import io.relaymesh.bench.e2e.Table.Row;
import org.junit.jupiter.api.Test;

/** The suite's verdicts: a wrong ratio or verdict would publish a target as met when it is not. */
class TableTest {

  @Test
  void ratioTargetsCompareMediansOfTheSameRun() {
    Row bulk = new Row("bulk", "openssh", ">= 2x openssh", Condition.ratioMin(2));
    bulk.add("relaymesh", 500).add("relaymesh", 700).add("relaymesh", 600);
    bulk.add("openssh", 250).add("openssh", 400).add("openssh", 300);
    assertThat(bulk.median("relaymesh")).isEqualTo(600);
    assertThat(bulk.ratio()).isEqualTo(2.0);
    assertThat(bulk.met()).isTrue();

    bulk.add("openssh", 301).add("openssh", 302); // median 301: 600/301 < 2
    assertThat(bulk.met()).isFalse();

    Row echo = new Row("echo p50", "openssh", "<= 0.75x", Condition.ratioMax(0.75));
    echo.add("relaymesh", 150).add("openssh", 200);
    assertThat(echo.met()).isTrue();
    echo.add("relaymesh", 151).add("openssh", 200); // median 150.5 / 200 > 0.75
    assertThat(echo.met()).isFalse();
  }

  @Test
  void everyConditionMustHoldAndAReferenceValueReplacesThePeer() {
    Row loaded = new Row("loaded p99", "openssh", "<= 1 ms and <= 4x unloaded", Condition.max(1000),
        Condition.ratioMaxOf(4, 200));
    loaded.add("relaymesh", 900).add("openssh", 20_000);
    assertThat(loaded.met()).as("900 > 4 x 200").isFalse();
    Row ok = new Row("loaded p99", "openssh", "", Condition.max(1000), Condition.ratioMaxOf(4, 250));
    ok.add("relaymesh", 1000).add("openssh", 1);
    assertThat(ok.met()).isTrue();
    Row slow = new Row("loaded p99", "openssh", "", Condition.max(1000), Condition.ratioMaxOf(4, 1000));
    slow.add("relaymesh", 1001);
    assertThat(slow.met()).isFalse();
  }

  @Test
  void aFailedRunIsNeitherMetNorScored() {
    Row r = new Row("burst/s", "openssh", ">= 5,000/s", Condition.min(5000));
    r.add("relaymesh", 9000).fail("relaymesh", "echo came back different").add("relaymesh", 9000);
    r.add("openssh", 600);
    assertThat(r.median("relaymesh")).isNaN();
    assertThat(r.met()).isNull();
    Table t = new Table();
    t.row(r);
    String md = t.markdown();
    assertThat(md).contains("| burst/s | FAILED |").contains("| 600 |").contains("| ? |")
        .contains("- burst/s: relaymesh: echo came back different");
  }

  @Test
  void aRatioAgainstAMissingPeerIsUnknown() {
    Row r = new Row("http", "nginx", ">= 0.85x nginx", Condition.ratioMin(0.85));
    r.add("relaymesh", 30_000);
    assertThat(r.ratio()).isNaN();
    assertThat(r.met()).isNull();
    Row zero = new Row("fail count", null, "0", Condition.max(0));
    zero.add("relaymesh", 0).add("openssh", 3);
    assertThat(zero.met()).isTrue();
    assertThat(zero.ratio()).isNaN();
  }

  @Test
  void markdownHasOneColumnPerPathAndShowsSpreads() {
    Table t = new Table();
    Row r = t.row(new Row("echo p99, us", "openssh", "<= 1x openssh", Condition.ratioMax(1)));
    r.add("relaymesh", 300).add("relaymesh", 310).add("relaymesh", 290).add("openssh", 440).add("direct", 109);
    t.row(new Row("info", null, null)).add("relaymesh", 3.14159);
    String[] lines = t.markdown().split("\n");
    assertThat(lines[0]).isEqualTo("| workload | relaymesh | openssh | openssh-nodelay | nginx | direct "
        + "| ratio vs peer | target | met? |");
    assertThat(lines[1].chars().filter(c -> c == '|').count()).isEqualTo(10);
    assertThat(lines[2]).isEqualTo("| echo p99, us | 300 (290..310) | 440 | - | - | 109 | 0.68x openssh "
        + "| <= 1x openssh | yes |");
    assertThat(lines[3]).isEqualTo("| info | 3.14 | - | - | - | - | - | - | - |");
  }
}
