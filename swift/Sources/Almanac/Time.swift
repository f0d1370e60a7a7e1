import AlmanacFFI
import Foundation

/// When something happens, kept as written: an all-day date, a wall time in a zone, a floating
/// wall time (read in the viewer's zone), or an instant.
///
/// Wall times are `DateComponents` (year…second), not `Date`: a meeting at 09:00 in Paris must
/// stay 09:00 in Paris across daylight-saving changes and tz database updates, so it never goes
/// through an instant on the device. Only year, month, day (and hour, minute, second for wall
/// times) are read; the instant is computed by the core's bundled tz database, the same on
/// every device.
public enum EventTime: Hashable, Sendable {
    /// An all-day date (year, month, day).
    case date(DateComponents)
    /// A wall time in a zone. A time in a daylight-saving gap is kept as written.
    case zoned(DateComponents, TimeZone)
    /// A wall time with no zone, read in the viewer's zone.
    case floating(DateComponents)
    /// An instant.
    case utc(Date)
}

extension EventTime {
    /// `.date(year: 2026, month: 3, day: 25)`.
    public static func date(year: Int, month: Int, day: Int) -> EventTime {
        .date(DateComponents(year: year, month: month, day: day))
    }

    /// `.zoned(year: 2026, month: 3, day: 23, hour: 9, in: paris)`.
    public static func zoned(
        year: Int, month: Int, day: Int, hour: Int, minute: Int = 0, second: Int = 0, in zone: TimeZone
    ) -> EventTime {
        .zoned(wall(year, month, day, hour, minute, second), zone)
    }

    /// The wall time `date` shows in `zone` (e.g. what a date picker returned).
    public static func zoned(_ date: Date, in zone: TimeZone) -> EventTime {
        .zoned(wallComponents(of: date, in: zone), zone)
    }

    /// A floating wall time: `.floating(year: 2026, month: 3, day: 23, hour: 7)`.
    public static func floating(
        year: Int, month: Int, day: Int, hour: Int, minute: Int = 0, second: Int = 0
    ) -> EventTime {
        .floating(wall(year, month, day, hour, minute, second))
    }

    static func wall(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> DateComponents {
        DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
    }

    static func wallComponents(of date: Date, in zone: TimeZone) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        // Only the six fields, so values compare equal to ones built by hand.
        return wall(c.year ?? 0, c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}

/// How an event's end is given.
public enum EventEnd: Hashable, Sendable {
    /// An explicit end of the same kind as the start (exclusive).
    case at(EventTime)
    /// A length: `days` follow the wall clock (23 or 25 hours across a daylight-saving change),
    /// `exact` is elapsed time in whole seconds. An all-day event lasts whole days.
    case after(days: Int = 0, exact: TimeInterval = 0)
}

// ---- conversions to and from the generated types ----

private func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(abs(value))
    let sign = value < 0 ? "-" : ""
    return sign + String(repeating: "0", count: max(0, width - digits.count)) + digits
}

private func dateText(_ c: DateComponents) throws -> String {
    guard let y = c.year, let m = c.month, let d = c.day else {
        throw AlmanacError.invalidInput("a date needs year, month and day; got \(c)")
    }
    return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
}

private func wallText(_ c: DateComponents) throws -> String {
    guard let h = c.hour else {
        throw AlmanacError.invalidInput("a wall time needs an hour; got \(c)")
    }
    return try dateText(c) + "T\(pad(h, 2)):\(pad(c.minute ?? 0, 2)):\(pad(c.second ?? 0, 2))"
}

// The core writes exactly `YYYY-MM-DD` and `YYYY-MM-DDTHH:MM:SS`; anything else is a bug there.
private func parseWall(_ text: String) -> DateComponents {
    // The groups of ASCII digits, read from the UTF-8 bytes: two per occurrence of a view, and
    // splitting `Character`s (grapheme clusters) cost several times more.
    var numbers: [Int] = []
    numbers.reserveCapacity(6)
    var current: Int?
    for byte in text.utf8 {
        if byte >= 0x30 && byte <= 0x39 {
            current = (current ?? 0) &* 10 &+ Int(byte - 0x30)
        } else if let value = current {
            numbers.append(value)
            current = nil
        }
    }
    if let value = current { numbers.append(value) }
    func at(_ i: Int) -> Int { i < numbers.count ? numbers[i] : 0 }
    if numbers.count <= 3 { return DateComponents(year: at(0), month: at(1), day: at(2)) }
    return EventTime.wall(at(0), at(1), at(2), at(3), at(4), at(5))
}

/// A zone id the core sent (always an IANA id it accepted). Only a zone newer than the OS's
/// tzdata could be unknown to Foundation; GMT is then the least surprising stand-in.
func zoneNamed(_ id: String) -> TimeZone {
    zones.named(id)
}

/// The zones met so far. Every occurrence of a view names its zone twice, and
/// `TimeZone(identifier:)` is slow on swift-corelibs-foundation (with the byte-wise parsing
/// below, caching took W9's Swift month view from 141 ms to 28 ms); an app sees a handful of
/// zones.
private let zones = Zones()

private final class Zones: @unchecked Sendable {
    private let lock = NSLock()
    private var known: [String: TimeZone] = [:]

    func named(_ id: String) -> TimeZone {
        lock.lock()
        defer { lock.unlock() }
        if let zone = known[id] { return zone }
        let zone = TimeZone(identifier: id) ?? TimeZone(secondsFromGMT: 0)!
        // Bounded: ids come from stored events, and a store holds few distinct zones.
        if known.count < 1024 { known[id] = zone }
        return zone
    }
}

extension EventTime {
    func toFFI() throws -> AlmanacFFI.EventTime {
        switch self {
        case let .date(c): return .date(date: try dateText(c))
        case let .zoned(c, zone): return .zoned(local: try wallText(c), zone: zone.identifier)
        case let .floating(c): return .floating(local: try wallText(c))
        case let .utc(date): return .utc(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        }
    }

    init(_ ffi: AlmanacFFI.EventTime) {
        switch ffi {
        case let .date(date): self = .date(parseWall(date))
        case let .zoned(local, zone): self = .zoned(parseWall(local), zoneNamed(zone))
        case let .floating(local): self = .floating(parseWall(local))
        case let .utc(epochSeconds): self = .utc(Date(timeIntervalSince1970: TimeInterval(epochSeconds)))
        }
    }
}

extension EventEnd {
    func toFFI() throws -> AlmanacFFI.EventEnd {
        switch self {
        case let .at(time): return .at(time: try time.toFFI())
        case let .after(days, exact):
            guard let days32 = Int32(exactly: days), exact.isFinite, abs(exact) < 1e15 else {
                throw AlmanacError.invalidInput("an event length of \(days) days and \(exact) seconds is out of range")
            }
            return .after(days: days32, seconds: Int64(exact.rounded()))
        }
    }

    init(_ ffi: AlmanacFFI.EventEnd) {
        switch ffi {
        case let .at(time): self = .at(EventTime(time))
        case let .after(days, seconds): self = .after(days: Int(days), exact: TimeInterval(seconds))
        }
    }
}
