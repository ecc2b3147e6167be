"""The cpplan worker process (`cpplan worker`)."""
