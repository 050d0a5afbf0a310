package herald

// DeliveryStore persists notifications and their per-recipient deliveries.
type DeliveryStore interface {
}
