import AlmanacFFI
import Foundation

/// A calendar: each is its own unit of sync and sharing. (Not `Calendar`, which would shadow
/// Foundation's in every file that imports both.)
public struct AlmanacCalendar: Hashable, Sendable {
    public var id: String
    public var name: String?
    public var color: String?
    /// The zone new events default to in the app.
    public var timeZone: TimeZone?

    public init(id: String, name: String?, color: String? = nil, timeZone: TimeZone? = nil) {
        self.id = id
        self.name = name
        self.color = color
        self.timeZone = timeZone
    }
}

/// The text fields of an event (`nil`: not set).
public struct EventFields: Hashable, Sendable {
    public var title: String?
    public var location: String?
    public var notes: String?
    public var url: String?
    /// `CONFIRMED`, `TENTATIVE` or `CANCELLED`.
    public var status: String?
    /// `BUSY` or `FREE`.
    public var availability: String?
    public var color: String?
    public var organizer: String?

    public init(
        title: String? = nil, location: String? = nil, notes: String? = nil, url: String? = nil,
        status: String? = nil, availability: String? = nil, color: String? = nil, organizer: String? = nil
    ) {
        self.title = title
        self.location = location
        self.notes = notes
        self.url = url
        self.status = status
        self.availability = availability
        self.color = color
        self.organizer = organizer
    }
}

/// The names of `EventFields`, for `EventChanges.fields`.
public enum EventField: String, Hashable, Sendable, CaseIterable {
    case title, location, notes, url, status, availability, color, organizer
}

/// An attendee's role.
public enum AttendeeRole: Hashable, Sendable { case chair, required, optional, nonParticipant }

/// An attendee's answer.
public enum AttendeeStatus: Hashable, Sendable { case needsAction, accepted, declined, tentative, delegated }

/// One attendee; `address` is `mailto:…` or a bare e-mail address.
public struct Attendee: Hashable, Sendable {
    public var address: String
    public var name: String?
    public var role: AttendeeRole
    public var status: AttendeeStatus

    public init(address: String, name: String? = nil, role: AttendeeRole = .required, status: AttendeeStatus = .needsAction) {
        self.address = address
        self.name = name
        self.role = role
        self.status = status
    }
}

/// One alarm, `offset` seconds from the occurrence's start (negative: before).
public struct Alarm: Hashable, Sendable {
    public var id: String
    public var offset: TimeInterval
    public var description: String?

    public init(id: String, offset: TimeInterval, description: String? = nil) {
        self.id = id
        self.offset = offset
        self.description = description
    }
}

/// A new event. `rule` is an RFC 5545 `RRULE` value such as `FREQ=WEEKLY;BYDAY=MO`.
public struct NewEvent: Hashable, Sendable {
    public var id: String
    public var calendar: String
    public var start: EventTime
    public var end: EventEnd
    public var rule: String?
    public var fields: EventFields
    public var rdates: [EventTime]
    public var exdates: [EventTime]
    public var attendees: [Attendee]
    public var alarms: [Alarm]

    public init(
        id: String, calendar: String, start: EventTime, end: EventEnd, rule: String? = nil,
        fields: EventFields = EventFields(), rdates: [EventTime] = [], exdates: [EventTime] = [],
        attendees: [Attendee] = [], alarms: [Alarm] = []
    ) {
        self.id = id
        self.calendar = calendar
        self.start = start
        self.end = end
        self.rule = rule
        self.fields = fields
        self.rdates = rdates
        self.exdates = exdates
        self.attendees = attendees
        self.alarms = alarms
    }
}

/// A change to the recurrence rule (whole series only).
public enum RuleUpdate: Hashable, Sendable {
    /// Repeat by this `RRULE` value.
    case set(String)
    /// Stop repeating.
    case remove
}

/// An edit: only what is given changes. In `fields`, a `nil` value clears the field (a
/// dictionary of optionals, because "absent" and "clear" are different edits). `start` and
/// `end` go together. Rules, attendees and alarms change on the whole series only.
public struct EventChanges: Hashable, Sendable {
    public var fields: [EventField: String?]
    public var start: EventTime?
    public var end: EventEnd?
    public var rule: RuleUpdate?
    public var setAttendees: [Attendee]
    public var removeAttendees: [String]
    public var setAlarms: [Alarm]
    public var removeAlarms: [String]

    public init(
        fields: [EventField: String?] = [:], start: EventTime? = nil, end: EventEnd? = nil,
        rule: RuleUpdate? = nil, setAttendees: [Attendee] = [], removeAttendees: [String] = [],
        setAlarms: [Alarm] = [], removeAlarms: [String] = []
    ) {
        self.fields = fields
        self.start = start
        self.end = end
        self.rule = rule
        self.setAttendees = setAttendees
        self.removeAttendees = removeAttendees
        self.setAlarms = setAlarms
        self.removeAlarms = removeAlarms
    }

    /// `.title("Standup")`.
    public static func title(_ title: String?) -> EventChanges { EventChanges(fields: [.title: title]) }
}

/// Which occurrences an edit or delete applies to; an occurrence is named by its original start
/// (`Occurrence.original`).
public enum Span: Hashable, Sendable {
    /// The whole series (or the single event).
    case all
    /// Only this occurrence.
    case this(EventTime)
    /// This occurrence and every later one.
    case thisAndFollowing(EventTime)
}

/// An event as stored (the series).
public struct Event: Hashable, Sendable {
    public let id: String
    public let calendar: String
    public let uid: String
    public let start: EventTime
    public let end: EventEnd
    public let isAllDay: Bool
    public let rule: String?
    public let fields: EventFields
    public let rdates: [EventTime]
    public let exdates: [EventTime]
    public let attendees: [Attendee]
    public let alarms: [Alarm]
}

/// One occurrence in a window, with every edit applied.
public struct Occurrence: Hashable, Sendable {
    public let eventID: String
    /// Its original start: what names it in a `Span`.
    public let original: EventTime
    public let start: EventTime
    public let end: EventEnd
    public let isAllDay: Bool
    /// When it happens for the viewer (end exclusive).
    public let interval: DateInterval
    public let fields: EventFields

    /// Shortcut for `fields.title`.
    public var title: String? { fields.title }
}

/// Where a conflicting value sits in an event.
public struct ConflictPath: Hashable, Sendable {
    public var field: String
    public var key: String?
    public var memberField: String?

    public init(field: String, key: String? = nil, memberField: String? = nil) {
        self.field = field
        self.key = key
        self.memberField = memberField
    }
}

/// A field with concurrent values: `shown` is what every device shows.
public struct FieldConflict: Hashable, Sendable {
    public let path: ConflictPath
    public let shown: String
    public let candidates: [String]
}

/// Why an occurrence's edits are hidden.
public enum ShadowReason: Hashable, Sendable { case cancelled, truncated, orphaned, hidden }

/// Occurrence edits the app cannot currently see.
public struct ShadowedOccurrence: Hashable, Sendable {
    /// The occurrence's original start, when the event is live (for `Store.restoreOccurrence`).
    public let original: EventTime?
    public let following: Bool
    public let reason: ShadowReason
    public let fields: [String: String]
    public let cancelled: Bool
}

/// One event's entry in the conflict log.
public struct EventConflicts: Hashable, Sendable {
    public let eventID: String
    public let deleted: Bool
    public let fields: [FieldConflict]
    public let editsHiddenByDelete: Int
    public let occurrences: [ShadowedOccurrence]
}

/// How a field conflict is resolved.
public enum Resolution: Hashable, Sendable {
    /// Keep the value shown.
    case keepShown
    /// Choose `candidates[index]`.
    case candidate(Int)
    /// Write this text instead.
    case text(String)
}

/// An override whose occurrence no longer exists (the rule or start changed).
public struct OrphanedOverride: Hashable, Sendable {
    public let original: EventTime
    public let fields: [String: String]
    public let cancelled: Bool
}

/// One problem met while importing.
public struct ImportIssue: Hashable, Sendable {
    public let line: Int?
    public let uid: String?
    public let message: String
}

/// What an import did.
public struct ImportReport: Hashable, Sendable {
    public let events: Int
    public let issues: [ImportIssue]
}

// ---- conversions to and from the generated types ----

extension AlmanacCalendar {
    init(_ ffi: CalendarInfo) {
        self.init(id: ffi.id, name: ffi.name, color: ffi.color, timeZone: ffi.timeZone.map(zoneNamed))
    }
}

extension EventFields {
    init(_ f: AlmanacFFI.EventFields) {
        self.init(
            title: f.title, location: f.location, notes: f.notes, url: f.url, status: f.status,
            availability: f.availability, color: f.color, organizer: f.organizer)
    }

    var ffi: AlmanacFFI.EventFields {
        AlmanacFFI.EventFields(
            title: title, location: location, notes: notes, url: url, status: status,
            availability: availability, color: color, organizer: organizer)
    }
}

extension Attendee {
    init(_ a: EventAttendee) {
        let role: AttendeeRole
        switch a.role {
        case .chair: role = .chair
        case .required: role = .required
        case .optional: role = .optional
        case .nonParticipant: role = .nonParticipant
        }
        let status: AttendeeStatus
        switch a.status {
        case .needsAction: status = .needsAction
        case .accepted: status = .accepted
        case .declined: status = .declined
        case .tentative: status = .tentative
        case .delegated: status = .delegated
        }
        self.init(address: a.address, name: a.name, role: role, status: status)
    }

    var ffi: EventAttendee {
        let role: AlmanacFFI.AttendeeRole
        switch self.role {
        case .chair: role = .chair
        case .required: role = .required
        case .optional: role = .optional
        case .nonParticipant: role = .nonParticipant
        }
        let status: AlmanacFFI.AttendeeStatus
        switch self.status {
        case .needsAction: status = .needsAction
        case .accepted: status = .accepted
        case .declined: status = .declined
        case .tentative: status = .tentative
        case .delegated: status = .delegated
        }
        return EventAttendee(address: address, name: name, role: role, status: status)
    }
}

extension Alarm {
    init(_ a: EventAlarm) { self.init(id: a.id, offset: TimeInterval(a.offsetSeconds), description: a.description) }

    func toFFI() throws -> EventAlarm {
        guard offset.isFinite, abs(offset) < 1e15 else {
            throw AlmanacError.invalidInput("an alarm offset of \(offset) seconds is out of range")
        }
        return EventAlarm(id: id, offsetSeconds: Int64(offset.rounded()), description: description)
    }
}

extension NewEvent {
    func toFFI() throws -> NewEventInput {
        NewEventInput(
            id: id, calendar: calendar, start: try start.toFFI(), end: try end.toFFI(), rule: rule,
            rdates: try rdates.map { try $0.toFFI() }, exdates: try exdates.map { try $0.toFFI() },
            fields: fields.ffi, attendees: attendees.map(\.ffi), alarms: try alarms.map { try $0.toFFI() })
    }
}

extension EventChanges {
    func toFFI() throws -> AlmanacFFI.EventChanges {
        var changes: [String: FieldChange] = [:]
        for (field, value) in fields {
            changes[field.rawValue] = value.map { .set(value: $0) } ?? .clear
        }
        let ruleChange: RuleChange?
        switch rule {
        case nil: ruleChange = nil
        case let .set(text): ruleChange = .set(rule: text)
        case .remove: ruleChange = .remove
        }
        return AlmanacFFI.EventChanges(
            fields: changes, start: try start?.toFFI(), end: try end?.toFFI(), rule: ruleChange,
            setAttendees: setAttendees.map(\.ffi), removeAttendees: removeAttendees,
            setAlarms: try setAlarms.map { try $0.toFFI() }, removeAlarms: removeAlarms)
    }
}

extension Span {
    func toFFI() throws -> EditSpan {
        switch self {
        case .all: return .all
        case let .this(time): return .this(occurrence: try time.toFFI())
        case let .thisAndFollowing(time): return .thisAndFollowing(occurrence: try time.toFFI())
        }
    }
}

extension Event {
    init(_ e: EventDetails) {
        id = e.id
        calendar = e.calendar
        uid = e.uid
        start = EventTime(e.start)
        end = EventEnd(e.end)
        isAllDay = e.allDay
        rule = e.rule
        fields = EventFields(e.fields)
        rdates = e.rdates.map(EventTime.init)
        exdates = e.exdates.map(EventTime.init)
        attendees = e.attendees.map(Attendee.init)
        alarms = e.alarms.map(Alarm.init)
    }
}

extension Occurrence {
    init(_ o: OccurrenceInfo) {
        eventID = o.eventId
        original = EventTime(o.original)
        start = EventTime(o.start)
        end = EventEnd(o.end)
        isAllDay = o.allDay
        let from = Date(timeIntervalSince1970: TimeInterval(o.startEpochSeconds))
        let to = Date(timeIntervalSince1970: TimeInterval(max(o.endEpochSeconds, o.startEpochSeconds)))
        interval = DateInterval(start: from, end: to)
        fields = EventFields(o.fields)
    }
}

extension ConflictPath {
    init(_ p: AlmanacFFI.ConflictPath) { self.init(field: p.field, key: p.key, memberField: p.memberField) }
    var ffi: AlmanacFFI.ConflictPath { AlmanacFFI.ConflictPath(field: field, key: key, memberField: memberField) }
}

extension Resolution {
    func toFFI() throws -> ConflictResolution {
        switch self {
        case .keepShown: return .keepShown
        case let .candidate(index):
            guard let index = UInt32(exactly: index) else {
                throw AlmanacError.invalidInput("candidate index \(index) is not an index into the candidates")
            }
            return .candidate(index: index)
        case let .text(value): return .text(value: value)
        }
    }
}

extension EventConflicts {
    init(_ c: EventConflictInfo) {
        eventID = c.eventId
        deleted = c.deleted
        fields = c.fields.map {
            FieldConflict(path: ConflictPath($0.path), shown: $0.shown.text, candidates: $0.candidates.map(\.text))
        }
        editsHiddenByDelete = Int(c.editsHiddenByDelete)
        occurrences = c.occurrences.map { o in
            let reason: ShadowReason
            switch o.reason {
            case .cancelled: reason = .cancelled
            case .truncated: reason = .truncated
            case .orphaned: reason = .orphaned
            case .hidden: reason = .hidden
            }
            return ShadowedOccurrence(
                original: o.original.map(EventTime.init), following: o.following, reason: reason,
                fields: o.fields, cancelled: o.cancelled)
        }
    }
}

extension OrphanedOverride {
    init(_ o: AlmanacFFI.OrphanedOverride) {
        self.init(original: EventTime(o.original), fields: o.fields, cancelled: o.cancelled)
    }
}

extension ImportReport {
    init(_ r: ImportReportInfo) {
        events = Int(r.events)
        issues = r.issues.map { ImportIssue(line: $0.line.map { Int($0) }, uid: $0.uid, message: $0.message) }
    }
}
