return { filter = 5 }
