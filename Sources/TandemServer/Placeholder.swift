import Hummingbird
import Yams
import ServiceLifecycle
public enum ServerPlaceholder {}
