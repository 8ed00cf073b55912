"""What recipients and monitors see: views, the landing page, tickets and small answers."""
