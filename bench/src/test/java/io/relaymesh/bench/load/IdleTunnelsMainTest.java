package io.relaymesh.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The parsers IdleTunnelsMain reads the relay's memory with (a wrong parse would publish wrong figures). */
class IdleTunnelsMainTest {

  @Test
  void prometheusHeapAndDirectAreSummedOverTheirSeriesOnly() {
    String scrape = """
        # HELP jvm_memory_used_bytes The amount of used memory
        # TYPE jvm_memory_used_bytes gauge
        jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 1.048576E7
        jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 2.0E7
        jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 3.0E7
        jvm_buffer_memory_used_bytes{id="direct"} 3334431.0
        jvm_buffer_memory_used_bytes{id="mapped"} 99.0
        process_resident_memory_bytes 5.86559488E8
        relaymesh_relay_agent_tunnels 10001.0
        """;
    Map<String, Double> m = IdleTunnelsMain.parsePrometheus(scrape);
    assertThat(IdleTunnelsMain.sum(m, "jvm_memory_used_bytes", "area=\"heap\"")).isEqualTo(30_485_760L);
    assertThat(IdleTunnelsMain.sum(m, "jvm_buffer_memory_used_bytes", "id=\"direct\"")).isEqualTo(3_334_431L);
    assertThat(IdleTunnelsMain.sum(m, "jvm_memory_committed_bytes", "area=\"heap\"")).isEqualTo(-1L);
    assertThat(m.get("process_resident_memory_bytes")).isEqualTo(586_559_488.0);
    assertThat(m.get("relaymesh_relay_agent_tunnels")).isEqualTo(10_001.0);
  }

  @Test
  void nativeMemorySummaryGivesCommittedBytesByCategoryAndTotal() {
    String summary = """
        15603:

        Native Memory Tracking:

        (Omitting categories weighting less than 1KB)

        Total: reserved=2064331KB, committed=508804KB
               malloc: 40219KB #312101
               mmap:   reserved=2024112KB, committed=468585KB

        -                 Java Heap (reserved=524288KB, committed=362496KB)
                                    (mmap: reserved=524288KB, committed=362496KB)

        -                     Class (reserved=1049603KB, committed=4867KB)
                                    (classes #7516)

        -        Shared class space (reserved=12288KB, committed=12060KB)
                                    (mmap: reserved=12288KB, committed=12060KB)
        """;
    Map<String, Long> nmt = IdleTunnelsMain.parseNmt(summary);
    assertThat(nmt).containsEntry("Total", 508_804L * 1024)
        .containsEntry("Java Heap", 362_496L * 1024)
        .containsEntry("Class", 4_867L * 1024)
        .containsEntry("Shared class space", 12_060L * 1024)
        .hasSize(4);
  }

  @Test
  void perTunnelIsTheGrowthOverTheBaselineInKilobytes() {
    assertThat(IdleTunnelsMain.perKb(586_559_488L, 201_846_784L, 10_000)).isCloseTo(38.47, within(0.01));
    assertThat(IdleTunnelsMain.perKb(-1L, 201_846_784L, 10_000)).isNaN();
  }
}
