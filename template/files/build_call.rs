dbmigrate_build::embed();
