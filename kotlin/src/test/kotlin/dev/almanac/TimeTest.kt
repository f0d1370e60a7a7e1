package dev.almanac

import java.time.LocalDateTime
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class TimeTest {
    @Test
    fun `wall times from the core read as the ISO parser reads them`() {
        for (text in listOf("2026-03-29T09:00:00", "0000-01-01T00:00:00", "9999-12-31T23:59:59", "2024-02-29T12:34:56", "+10000-01-01T00:00:00")) {
            assertEquals(LocalDateTime.parse(text), parseWallTime(text), text)
        }
    }
}
