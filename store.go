package herald

// Store is the persistence port of Herald: the directory of everyone the
// bot can reach, the record of notifications and deliveries, and the
// processes sharing them. Only this
// module's drivers (package sqlstore, on SQLite and PostgreSQL) implement
// it, and every driver passes the shared conformance suite in package
// storetest; the interface may change between minor releases.
//
// Methods are named Noun+Verb (UserUpsert, DeliveryClaim) and take a
// Params struct where they have more than two inputs.
type Store interface {
	DirectoryStore
	DeliveryStore
	StatsStore
	KeyStore
	NodeStore
}
