import Hummingbird
import Events
import EventLog
public enum IngestPlaceholder {}
