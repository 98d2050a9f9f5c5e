import Catalog
import Events
import KafkaLog
import Synchronization

/// The stream catalog as the Kafka backend reads schemas from it. The log is made before the
/// catalog (the catalog creates each stream's topic as it defines or loads the stream), so the
/// catalog is handed over once it exists.
final class CatalogSchemas: StreamSchemas {
    private let catalog = Mutex<StreamCatalog?>(nil)

    /// Hands over the catalog.
    func attach(_ catalog: StreamCatalog) {
        self.catalog.withLock { $0 = catalog }
    }

    func schema(of stream: String) -> StreamDefinition? {
        catalog.withLock { $0 }?[stream]
    }
}
